"""Sign-in hardening: trusted hosts and BASE_URL links, safe redirects, revocable sign-ins,
and sign-in and reset requests that do the same work whether or not an account exists."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from symposium import trusted_hosts
from symposium.extensions import db as _db
from symposium.models import AuditEntry, Membership, OutboxMessage, Role, User, account
from symposium.services.accounts import access
from symposium.services.core.urls import same_site_path
from symposium.services.mail import delivery, render
from tests.conftest import FreshContextClient, make_app, registration_data

PASSWORD = "correct horse battery"
PUBLIC = "https://symposium.example.org"
URL = re.compile(r"https?://[^\s\"'<>)]+")


def token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def login(client: FlaskClient, email: str, password: str = PASSWORD, next_: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"csrf_token": token(page), "email": email, "password": password}
    query = {"next": next_} if next_ is not None else None
    return client.post("/admin/login", data=data, query_string=query)


def request_reset(client: FlaskClient, address: str):  # type: ignore[no-untyped-def]
    page = client.get("/admin/password-reset").get_data(as_text=True)
    return client.post("/admin/password-reset", data={"csrf_token": token(page), "email": address})


@pytest.fixture
def quick_hashes(monkeypatch):  # type: ignore[no-untyped-def]
    """Cheap hashes: these tests sign in many times; scrypt itself is tested in test_admin."""
    import werkzeug.security

    monkeypatch.setattr(
        account,
        "generate_password_hash",
        lambda p: werkzeug.security.generate_password_hash(p, method="pbkdf2:sha256:1"),
    )


@pytest.fixture
def accounts(db, small_event, clock, quick_hashes):  # type: ignore[no-untyped-def]
    """An admin and an organiser of "klein"."""
    from symposium.models import Event

    klein = db.session.get(Event, small_event["event"])
    made = {}
    for key, role, event in [("admin", Role.ADMIN, None), ("organiser", Role.ORGANISER, klein)]:
        made[key], _ = access.create_user(
            db.session, f"{key}@example.org", role, clock.now, event=event, password=PASSWORD
        )
    db.session.commit()
    return made


def alternative_host_app(migrated_url: str, clock) -> Flask:  # type: ignore[no-untyped-def]
    """Public at PUBLIC, also answering to alt.example.net (e.g. an internal name)."""
    app = make_app(migrated_url, CLOCK=clock, BASE_URL=PUBLIC, TRUSTED_HOSTS=["alt.example.net"])
    app.test_client_class = FreshContextClient
    return app


class AlternativeHostClient(FreshContextClient):
    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("base_url", "http://alt.example.net")
        return super().open(*args, **kwargs)


def on_alternative_host(app: Flask) -> FlaskClient:
    app.test_client_class = AlternativeHostClient
    return app.test_client()


def written_mail(app: Flask) -> list[OutboxMessage]:
    """What the mail worker writes, with the app's configuration."""
    with app.app_context():
        render.render_pending(_db.session)
        _db.session.commit()
        messages = _db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for message in messages:
            _db.session.expunge(message)
        return list(messages)


# 1. Trusted hosts; every mailed link from BASE_URL -----------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/admin/login", "/admin/password-reset", "/api/v1/openapi.json"]
)
def test_an_unknown_host_is_refused(client, path: str) -> None:
    assert client.get(path, headers={"Host": "evil.example"}).status_code == 400
    assert client.get(path, headers={"Host": "localhost"}).status_code == 200


def test_a_reset_posted_with_a_forged_host_is_refused_and_queues_nothing(
    migrated_url, clock, db, accounts
) -> None:
    # Without CSRF, so that only the Host header decides (a forged Host drops the cookie).
    app = make_app(migrated_url, CLOCK=clock, WTF_CSRF_ENABLED=False)
    app.test_client_class = FreshContextClient
    response = app.test_client().post(
        "/admin/password-reset",
        data={"email": "organiser@example.org"},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 400
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_trusted_hosts_default_to_the_host_of_base_url() -> None:
    assert trusted_hosts("https://symposium.example.org/x", None, local=False) == [
        "symposium.example.org"
    ]
    assert trusted_hosts("https://s.example.org", None, local=True) == [
        "s.example.org",
        "localhost",
        "127.0.0.1",
    ]
    # Configured: those, and BASE_URL's host always (or mailed links would be refused).
    assert trusted_hosts("https://s.example.org", ["a.example.org"], local=True) == [
        "s.example.org",
        "a.example.org",
    ]


def test_a_reset_through_an_allowed_alternative_host_mails_a_base_url_link(
    migrated_url, clock, accounts
) -> None:
    app = alternative_host_app(migrated_url, clock)
    client = on_alternative_host(app)
    assert request_reset(client, "organiser@example.org").status_code == 303
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    (mail,) = written_mail(app)
    links = URL.findall(mail.body_text) + URL.findall(mail.body_html)
    assert links and all(link.startswith(PUBLIC + "/admin/password-reset/") for link in links)
    assert "alt.example.net" not in mail.body_text + mail.body_html


def test_every_mailed_link_starts_with_base_url(migrated_url, clock, accounts, small_event) -> None:
    """Registration, manage link, account and reset mail, requested through another host."""
    app = alternative_host_app(migrated_url, clock)
    client = on_alternative_host(app)
    body = registration_data(1, sessions=[small_event["klein"]])
    response = client.post("/api/v1/events/klein/registrations", json=body)
    assert response.status_code == 201
    assert response.get_json()["registration"]["manage_url"].startswith(PUBLIC + "/r/")
    assert (
        client.post("/api/v1/events/klein/registrations", json=body).status_code == 409
    )  # mails the link
    assert login(client, "admin@example.org").status_code == 303
    page = client.get("/admin/users").get_data(as_text=True)
    form = {"csrf_token": token(page), "email": "new@example.org", "name": "", "role": "door",
            "event": "klein"}  # fmt: skip
    assert client.post("/admin/users", data=form).status_code == 303
    request_reset(on_alternative_host(app), "organiser@example.org")

    mails = written_mail(app)
    assert {m.kind for m in mails} >= {"registered", "account_created", "password_reset"}
    for mail in mails:
        for part in (mail.body_text, mail.body_html, mail.calendar or ""):
            unfolded = part.replace("\r\n ", "")
            for link in URL.findall(unfolded):
                assert link.startswith(PUBLIC + "/"), (mail.kind, link)


# 2. Redirect after sign-in ------------------------------------------------------------------

OFF_SITE = [
    "//evil.example/",
    "/%09/evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "\n",
    "/\r\nSet-Cookie: x=1",
    "/%0d%0aSet-Cookie:%20x=1",
    "/\\evil.example",
    "/\\\\evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%252F%252Fevil.example",
    "/%25252F/evil.example",
    "///evil.example",
    " //evil.example",
    "/ /evil.example",
    "/\u200b/evil.example",
    "/\x00/",
    "evil.example",
    "admin/",
    "",
]
SAME_SITE = ["/admin/", "/admin/events/klein/", "/admin/users?x=1#top", "/admin/events/a%2Db/"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_an_off_site_next_is_not_a_same_site_path(target: str) -> None:
    assert same_site_path(target) is None


@pytest.mark.parametrize("target", SAME_SITE)
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert same_site_path(target) == target


def test_sign_in_redirects_only_within_the_site(app, accounts) -> None:
    """The whole table through the real sign-in (one test: a fresh client per target)."""
    for target in [*OFF_SITE, *SAME_SITE]:
        response = login(app.test_client(), "admin@example.org", next_=target)
        if any((ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 for c in target):
            # symposium/input_guard.py refuses these before any view sees them.
            assert response.status_code == 400, repr(target)
            continue
        assert response.status_code == 303, repr(target)
        expected = target if target in SAME_SITE else "/admin/"
        assert response.headers["Location"] == expected, repr(target)


# 3. Sign-ins that can be ended -----------------------------------------------------------------


def copied(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    other = app.test_client()
    other.set_cookie(cookie.key, cookie.value)
    return other


def signed_out(client: FlaskClient) -> bool:
    response = client.get("/admin/")
    if response.status_code == 200:
        return False
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    return True


def test_an_old_cookie_stops_working_after_sign_out(app, client, db, accounts) -> None:
    login(client, "organiser@example.org")
    stolen = copied(app, client)
    assert not signed_out(stolen)
    home = client.get("/admin/").get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": token(home)})
    assert signed_out(client) and signed_out(stolen)
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "signed_out"))
    assert entry.user_id == accounts["organiser"].id


def test_an_old_cookie_stops_working_after_a_password_reset(app, client, db, accounts) -> None:
    login(client, "organiser@example.org")
    stolen = copied(app, client)
    request_reset(app.test_client(), "organiser@example.org")
    (mail,) = written_mail(app)
    link = re.search(r"http://localhost(/admin/password-reset/\S+)", mail.body_text)[1]
    resetter = app.test_client()
    form = resetter.get(link).get_data(as_text=True)
    new = {
        "csrf_token": token(form),
        "password": "a new long secret",
        "confirm": "a new long secret",
    }
    assert resetter.post(link, data=new).status_code == 303
    assert signed_out(stolen) and signed_out(client)
    assert login(stolen, "organiser@example.org", "a new long secret").status_code == 303
    assert not signed_out(stolen)


def test_an_old_cookie_stops_working_after_a_password_change(
    app, client, db, accounts, clock
) -> None:
    login(client, "organiser@example.org")
    stolen = copied(app, client)
    user = db.session.get(User, accounts["organiser"].id)
    access.set_password(db.session, user, "another long secret", clock.now)
    db.session.commit()
    assert signed_out(stolen) and signed_out(client)


def test_an_old_cookie_stops_working_after_a_role_is_taken_away(app, client, db, accounts) -> None:
    organiser = app.test_client()
    login(organiser, "organiser@example.org")
    stolen = copied(app, organiser)
    assert stolen.get("/admin/events/klein/").status_code == 200
    login(client, "admin@example.org")
    membership = db.session.scalars(
        select(Membership).where(Membership.user_id == accounts["organiser"].id)
    ).one()
    page = client.get("/admin/users").get_data(as_text=True)
    client.post(f"/admin/users/roles/{membership.id}/revoke", data={"csrf_token": token(page)})
    assert signed_out(stolen) and signed_out(organiser)
    assert not signed_out(client)  # the admin who took the role away stays signed in


def test_a_cookie_of_the_old_form_or_another_account_signs_nobody_in(app, db, accounts) -> None:
    for cookie_id in (str(accounts["admin"].id), f"{accounts['admin'].id}:", "x:y", "", ":"):
        with app.test_request_context():
            from symposium.blueprints.admin import load_user

            assert load_user(cookie_id) is None
    organiser = accounts["organiser"]
    with app.test_request_context():
        from symposium.blueprints.admin import load_user

        assert load_user(f"{accounts['admin'].id}:{organiser.session_token}") is None
        assert load_user(organiser.get_id()) is not None


# 9. The same work whether or not an account exists ---------------------------------------------


@pytest.fixture
def hashes(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """Every password hash checked during sign-in (by which hash it was checked against)."""
    calls: list[str] = []
    real = account.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(account, "check_password_hash", counting)
    return calls


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("organiser@example.org", PASSWORD),
        ("organiser@example.org", "wrong password"),
        ("nobody@example.org", PASSWORD),
        ("inactive@example.org", PASSWORD),
    ],
)
def test_every_sign_in_hashes_the_password_once(
    db, accounts, clock, hashes, email: str, password: str
) -> None:
    inactive, _ = access.create_user(
        db.session, "inactive@example.org", Role.DOOR, clock.now, password=PASSWORD
    )
    inactive.active = False
    db.session.commit()
    access.authenticate(db.session, email, password, clock.now)
    assert len(hashes) == 1


def test_a_reset_request_does_the_same_work_for_known_and_unknown_addresses(
    app, client, db, accounts, clock
) -> None:
    def queued_rows(address: str) -> list[dict]:
        request_reset(client, address)
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        out = [
            {c.name: getattr(r, c.name) for c in OutboxMessage.__table__.columns}
            for r in rows
            if r.to_address == address
        ]
        for row in out:
            del row["id"], row["message_id"], row["to_address"]
        return out

    known = queued_rows("organiser@example.org")
    unknown = queued_rows("nobody@example.org")
    assert known == unknown and len(known) == 1
    assert known[0]["body_text"] == ""  # nothing looked up or written in the request

    sent: list[EmailMessage] = []

    class Recording:
        def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
            sent.append(message)

        def close(self) -> None:
            pass

    result = delivery.drain(db.session, Recording(), app.config, clock)
    assert (result.sent, result.dropped, result.failed) == (1, 1, 0)
    assert [m["To"] for m in sent] == ["organiser@example.org"]
    # The typed address of a non-account is not kept anywhere in the outbox.
    addresses = db.session.scalars(select(OutboxMessage.to_address)).all()
    assert addresses == ["organiser@example.org"]


def test_the_worker_writes_no_link_for_a_deactivated_account(app, client, db, accounts) -> None:
    request_reset(client, "organiser@example.org")
    db.session.get(User, accounts["organiser"].id).active = False
    db.session.commit()
    assert written_mail(app) == []


def test_the_dummy_hash_is_made_before_the_first_unknown_sign_in(monkeypatch) -> None:
    """Made lazily, the first unknown sign-in of each worker would hash twice (slower)."""
    from symposium.models import account

    def no_new_hash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a hash was made during a sign-in")

    monkeypatch.setattr(account, "generate_password_hash", no_new_hash)
    assert account.check_dummy_password("whatever") is False
