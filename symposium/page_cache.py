"""Public pages rendered once and served many times, per worker process.

A programme page is the same for every anonymous visitor who asks in the same language with
the same filters, until the programme changes: that gives its event a new
``programme_stamp``, which is part of the key, so a change shows at once in every worker.
Only the places left change without a new stamp; an entry therefore lives at most
``PAGE_CACHE_SECONDS`` (a few seconds late is fine: registering checks the real count).

Signed-in organisers and visitors with a pending flash message carry a session cookie and
always get a freshly rendered page, so nothing personal is ever stored or shared.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, Response, current_app, request

from symposium import clock

SIZE = 512  # entries per worker; a page is 10-50 kB


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes
    etag: str
    made_at: datetime


class PageCache:
    """A small LRU of rendered pages; thread-safe for threaded workers."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: datetime, max_age: timedelta) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None or now - page.made_at >= max_age or now < page.made_at:
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, body: bytes, now: datetime) -> Page:
        page = Page(body, hashlib.blake2b(body, digest_size=12).hexdigest(), now)
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return page


def cache_for(app: Flask) -> PageCache:
    return app.extensions.setdefault("symposium.page_cache", PageCache())


def anonymous() -> bool:
    """No session or remember-me cookie: the page cannot depend on who is asking."""
    config = current_app.config
    names = (config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return not any(name in request.cookies for name in names)


def serve(key: Hashable, render: Callable[[], str], allowed_args: frozenset[str]) -> Response:
    """The page for ``key`` (+ the request's query), from the cache when it may be.

    Answers with an ETag (and 304 to a matching If-None-Match) either way.
    """
    max_age = timedelta(seconds=current_app.config["PAGE_CACHE_SECONDS"])
    cacheable = max_age > timedelta(0) and anonymous() and set(request.args).issubset(allowed_args)
    if not cacheable:
        response = Response(render(), mimetype="text/html")
        response.cache_control.private = True
        response.add_etag()
        return response.make_conditional(request)
    cache = cache_for(current_app)
    now = clock.now()
    full_key = (key, tuple(sorted(request.args.items(multi=True))))
    page = cache.get(full_key, now, max_age) or cache.put(full_key, render().encode(), now)
    response = Response(page.body, mimetype="text/html")
    response.set_etag(page.etag)
    if "lang" in request.args:  # answered with the language cookie: not for shared caches
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    response.cache_control.max_age = int(max_age.total_seconds())
    return response.make_conditional(request)
