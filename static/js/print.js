// Print buttons: <button data-print>. A file of its own, as the Content-Security-Policy
// allows no inline scripts or event handlers.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () {
    window.print();
  });
});
