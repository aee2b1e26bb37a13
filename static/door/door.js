// The door page's scanner and offline queue (templates/door/_scanner.html).
//
// Every scan (the camera, or the code typed into the code form) is first written to
// localStorage (a key of its own) with an id made here, then sent to the session's /scans address. It stays
// there until the server has answered it: with bad wifi the scans wait, the page says how
// many, and they are sent again when the connection returns (the "online" event, a timer,
// the next page load). The server accepts each id once, so sending twice records one scan.
// A scan's time is when it was made, on the server's clock (the phone's clock corrected by
// the difference the page measured), not when it arrived.
//
// Without JavaScript (or without fetch or localStorage) none of this runs: the page's forms
// post one scan each, and the page works the same.
(function () {
  "use strict";

  var root = document.getElementById("scanner");
  if (!root || !window.fetch || !window.localStorage || !window.crypto) {
    return;
  }
  var QUEUE_PREFIX = "symposium.door.scan.";
  var BATCH = 500; // the server's MAX_SCANS
  var SAME_TICKET_MS = 4000; // a ticket held in view is one scan
  var text = root.dataset;
  var scansUrl = text.scansUrl;
  var direction = text.direction === "out" ? "out" : "in";
  var csrf = text.csrf;
  var offset = Date.parse(text.serverTime) - Date.now(); // server clock minus phone clock
  if (isNaN(offset)) {
    offset = 0;
  }
  var answer = document.getElementById("answer");
  var queueNote = document.getElementById("queue");
  var laterBox = document.getElementById("sent-later");
  var laterList = document.getElementById("sent-later-list");
  var current = null; // the client id of the last scan made on this page
  var sending = false;
  var again = false;
  var retryTimer = null;
  var backoff = 2000;
  var failed = false;
  var stuck = new Set(); // addresses that refuse this account's scans, until the next load
  var singles = new Set(); // addresses whose scans go one at a time (one was unreadable)

  // --- the queue ----------------------------------------------------------------------------

  // One key per scan, never a shared list: two tabs (entrance and exit) cannot overwrite
  // each other's scans.
  function load() {
    var queue = [];
    for (var i = 0; i < localStorage.length; i++) {
      var key = localStorage.key(i);
      if (key && key.indexOf(QUEUE_PREFIX) === 0) {
        try {
          var entry = JSON.parse(localStorage.getItem(key));
          if (entry && entry.item && entry.url) {
            queue.push(entry);
          }
        } catch (e) {
          localStorage.removeItem(key);
        }
      }
    }
    return queue.sort(function (a, b) {
      var x = a.item.scanned_at || "";
      var y = b.item.scanned_at || "";
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }

  function keep(entry) {
    try {
      localStorage.setItem(QUEUE_PREFIX + entry.item.client_id, JSON.stringify(entry));
      return true;
    } catch (e) {
      return false; // storage full or refused (a private window): sent without keeping
    }
  }

  function forget(ids) {
    ids.forEach(function (id) {
      localStorage.removeItem(QUEUE_PREFIX + id);
    });
  }

  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "js-" + Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function showCount() {
    var waiting = load().length;
    queueNote.hidden = waiting === 0 || (sending && !failed);
    var words = waiting === 1 ? text.tWaitingOne : text.tWaitingOther;
    queueNote.textContent = words.replace("{n}", String(waiting));
  }

  // --- scanning -----------------------------------------------------------------------------

  function scan(fields) {
    if (fields.code) {
      // A QR code may hold control characters (GS1 separators); the server refuses them.
      fields.code = fields.code.replace(/[\u0000-\u001f\u007f]/g, " ").trim();
    }
    var item = Object.assign({
      client_id: newId(),
      direction: direction,
      via: "scan",
      admit_anyway: false,
      scanned_at: new Date(Date.now() + offset).toISOString(),
    }, fields);
    current = item.client_id;
    showPending();
    if (!keep({ url: scansUrl, item: item })) {
      send(scansUrl, [item], true); // nowhere to keep it: straight to the server, once
      return;
    }
    flush();
  }

  var codeForm = document.getElementById("code-form");
  if (codeForm) {
    codeForm.addEventListener("submit", function (event) {
      var field = codeForm.elements.code;
      var code = field.value.trim();
      if (!code) {
        return; // the server says what is missing, next to the field
      }
      event.preventDefault();
      scan({ code: code, via: "typed" });
      field.value = "";
      field.focus();
    });
  }

  // --- sending ------------------------------------------------------------------------------

  function post(url, items) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrf,
      },
      body: JSON.stringify({ scans: items }),
    });
  }

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
  }

  function renewToken(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return isJson(response) && response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body && body.csrf_token) {
          csrf = body.csrf_token;
          learnClock(body.server_time);
        }
      });
  }

  function learnClock(serverTime) {
    var server = Date.parse(serverTime);
    if (!isNaN(server)) {
      offset = server - Date.now();
    }
  }

  function later(delay) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, delay);
  }

  // Send the oldest address's scans (a batch at most); on to the next address when done.
  function flush() {
    if (sending) {
      again = true;
      return;
    }
    var queue = load().filter(function (entry) {
      return !stuck.has(entry.url);
    });
    if (!queue.length) {
      showCount();
      return;
    }
    sending = true;
    again = false;
    showCount();
    var url = queue[0].url;
    var items = queue.filter(function (entry) {
      return entry.url === url;
    }).slice(0, singles.has(url) ? 1 : BATCH).map(function (entry) {
      return entry.item;
    });
    send(url, items, true)
      .then(function (outcome) {
        sending = false;
        failed = outcome !== "sent";
        if (outcome === "stuck") {
          stuck.add(url);
          again = true;
        } else if (outcome === "split") {
          singles.add(url); // one scan the server cannot read: find it, one at a time
          again = true;
        } else if (outcome === "sent") {
          backoff = 2000;
          again = true; // the next batch, or the next address's scans
        } else {
          later(backoff);
          backoff = Math.min(backoff * 2, 30000);
        }
        showCount();
        if (again && (outcome === "sent" || outcome === "stuck" || outcome === "split")) {
          flush();
        }
      });
  }

  function send(url, items, renew) {
    return post(url, items)
      .then(function (response) {
        if (!isJson(response)) {
          // Redirected to the sign-in page: the account's session has ended.
          if (current && isQueued(current)) {
            showProblem(text.tSignedOut);
          }
          return "signed-out";
        }
        return response.json().then(function (body) {
          learnClock(body.server_time);
          if (response.ok) {
            answered(items, body.results || []);
            if (url === scansUrl && body.counts) {
              showCounts(body.counts);
            }
            return "sent";
          }
          var code = body.error && body.error.code;
          if (response.status === 400 && code === "csrf_failed" && renew) {
            return renewToken(url).then(function () {
              return send(url, items, false);
            });
          }
          if (response.status >= 500 || response.status === 429 || code === "csrf_failed") {
            return "retry";
          }
          if ([400, 413, 422].indexOf(response.status) >= 0) {
            // The body itself was refused (a control character, too large, not readable).
            if (items.length > 1) {
              return "split";
            }
            answered(items, [{ client_id: items[0].client_id, error: body.error }]);
            return "sent"; // that one scan can never be recorded: shown, and dropped
          }
          // The session is gone, or this account may no longer check in here: the scans
          // stay on this phone (for an organiser to look at) and the others go on.
          showProblem(body.error ? body.error.message : String(response.status));
          return "stuck";
        });
      })
      .catch(function () {
        var kept = load().filter(function (entry) {
          return entry.item.client_id === current;
        })[0];
        if (kept) {
          showKept(kept.item);
        }
        return "offline";
      });
  }

  function isQueued(clientId) {
    return load().some(function (entry) {
      return entry.item.client_id === clientId;
    });
  }

  function answered(items, results) {
    var done = new Set();
    items.forEach(function (item, index) {
      var result = results[index];
      if (!result) {
        return; // not answered: sent again later
      }
      done.add(item.client_id);
      if (item.client_id === current) {
        showAnswer(result, item);
      } else {
        addLater(result);
      }
    });
    forget(done);
  }

  // --- showing answers ----------------------------------------------------------------------

  function paragraph(className, words) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = words;
    return p;
  }

  function setAnswer(colour, label, headline, detail, actions) {
    answer.className = "answer answer-" + colour;
    var parts = [paragraph("answer-label", label), paragraph("headline", headline)];
    if (detail) {
      parts.push(paragraph("detail", detail));
    }
    (actions || []).forEach(function (action) {
      var box = document.createElement("div");
      box.className = "answer-action";
      box.appendChild(action);
      parts.push(box);
    });
    answer.replaceChildren.apply(answer, parts);
  }

  function showCounts(counts) {
    [["count-checked-in", counts.checked_in], ["count-checked-out", counts.checked_out],
     ["count-still-in", counts.still_in]].forEach(function (pair) {
      var figure = document.getElementById(pair[0]);
      if (figure) {
        figure.textContent = String(pair[1]);
      }
    });
  }

  function showPending() {
    setAnswer("pending", text.tSending, "", "");
  }

  function showKept(item) {
    setAnswer("pending", text.tKept, item.code ? item.code.toUpperCase() : "", text.tKeptDetail);
  }

  function showProblem(message) {
    setAnswer("red", text.tRefused, message, "");
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function undoForm(result) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = text.undoUrl;
    form.className = "inline";
    form.append(
      hidden("csrf_token", csrf), hidden("presence_id", result.presence_id),
      hidden("what", result.undo), hidden("direction", direction),
    );
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "secondary";
    button.textContent = result.undo === "checkout" ? text.tUndoCheckout : text.tUndoCheckin;
    form.appendChild(button);
    return form;
  }

  function admitButton(result, item) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "big";
    button.textContent = text.tAdmit;
    button.addEventListener("click", function () {
      scan({
        registration_id: result.registration_id, admit_anyway: true, direction: "in",
        via: item.via,
      });
    });
    return button;
  }

  function showAnswer(result, item) {
    if (result.error) {
      showProblem(result.error.message);
      return;
    }
    var actions = [];
    if (result.admit_anyway) {
      actions.push(admitButton(result, item));
    }
    if (result.undo) {
      actions.push(undoForm(result));
    }
    setAnswer(result.colour, result.label, result.headline, result.detail, actions);
  }

  function addLater(result) {
    var li = document.createElement("li");
    var box = document.createElement("div");
    if (result.error) {
      li.className = "door-person verdict-red";
      box.append(paragraph("door-person-name", text.tRefused),
                 paragraph("meta", result.error.message));
    } else {
      li.className = "door-person verdict-" + result.colour;
      box.append(paragraph("door-person-name", result.headline),
                 paragraph("meta", result.label + (result.detail ? " · " + result.detail : "")));
    }
    li.appendChild(box);
    laterList.prepend(li);
    laterBox.hidden = false;
  }

  // --- the camera ---------------------------------------------------------------------------

  var startButton = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var view = document.getElementById("camera-view");
  var video = document.getElementById("camera");
  var cameraProblem = document.getElementById("camera-problem");
  var stream = null;
  var decode = null;
  var frameTimer = null;
  var last = { text: null, at: 0 };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) {
        resolve();
        return;
      }
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  // The browser's own BarcodeDetector where it reads QR codes, else jsQR on a canvas.
  function makeDecoder() {
    var native = window.BarcodeDetector
      ? window.BarcodeDetector.getSupportedFormats().catch(function () {
        return [];
      })
      : Promise.resolve([]);
    return native.then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) {
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return function () {
          return detector.detect(video).then(function (codes) {
            return codes.length ? codes[0].rawValue : null;
          });
        };
      }
      return loadScript(text.jsqrUrl).then(function () {
        var canvas = document.createElement("canvas");
        var context = canvas.getContext("2d", { willReadFrequently: true });
        return function () {
          var width = video.videoWidth;
          var height = video.videoHeight;
          if (!width || !height) {
            return null;
          }
          var scale = Math.min(1, 720 / Math.max(width, height));
          canvas.width = Math.round(width * scale);
          canvas.height = Math.round(height * scale);
          context.drawImage(video, 0, 0, canvas.width, canvas.height);
          var image = context.getImageData(0, 0, canvas.width, canvas.height);
          var found = window.jsQR(image.data, image.width, image.height,
                                  { inversionAttempts: "dontInvert" });
          return found ? found.data : null;
        };
      });
    });
  }

  function frame() {
    if (!stream) {
      return;
    }
    Promise.resolve()
      .then(decode)
      .then(function (found) {
        if (found) {
          seen(found);
        }
      })
      .catch(function () {})
      .then(function () {
        if (stream) {
          frameTimer = setTimeout(frame, 120);
        }
      });
  }

  function seen(found) {
    var now = Date.now();
    var same = found === last.text && now - last.at < SAME_TICKET_MS;
    last = { text: found, at: now };
    if (same) {
      return; // still the ticket just scanned
    }
    if (navigator.vibrate) {
      navigator.vibrate(60);
    }
    scan({ code: found, via: "scan" });
  }

  function startCamera() {
    cameraProblem.hidden = true;
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        view.hidden = false;
        startButton.hidden = true;
        stopButton.hidden = false;
        return video.play().then(makeDecoder);
      })
      .then(function (decoder) {
        decode = decoder;
        frame();
      })
      .catch(function () {
        stopCamera();
        cameraProblem.textContent = text.tCameraFailed;
        cameraProblem.hidden = false;
      });
  }

  function stopCamera() {
    clearTimeout(frameTimer);
    if (stream) {
      stream.getTracks().forEach(function (track) {
        track.stop();
      });
    }
    stream = null;
    video.srcObject = null;
    view.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    startButton.hidden = false;
    startButton.addEventListener("click", startCamera);
    stopButton.addEventListener("click", stopCamera);
    window.addEventListener("pagehide", stopCamera);
  }

  // --- start --------------------------------------------------------------------------------

  root.hidden = false;
  window.addEventListener("online", flush);
  setInterval(function () {
    if (load().length) {
      flush();
    }
  }, 15000);
  flush();
})();
