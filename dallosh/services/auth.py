"""Accounts as their owners see them: register, login (throttled), change password, update, delete.

Login failures never reveal whether an email exists: unknown emails cost the same hash time and get the same
message, and throttling counts failures per source address and per (address, email) whether or not the account
exists; no account is ever locked for everyone.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from dallosh.defaults import (
    DEFAULT_PASSWORD,
    LOGIN_FAILURE_WINDOW_S,
    LOGIN_LOCKOUT_MAX_S,
    LOGIN_LOCKOUT_S,
    LOGIN_MAX_FAILURES,
    LOGIN_MAX_FAILURES_PER_ADDRESS,
    PASSWORD_MIN_DISTINCT,
    PASSWORD_MIN_LENGTH,
)
from dallosh.errors import AuthenticationFailed, Conflict, LoginThrottled, ValidationError
from dallosh.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from dallosh.schemas import Record, UserData, normalise_email
from dallosh.services.base import SYSTEM, Actor, Service, audited
from dallosh.services.users import public

#: Failure counts per source address and per (address, email); replaces the per-email ``login_attempts``.
THROTTLE = "login_throttle"
INVALID_CREDENTIALS = "Invalid email or password."
_COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "data" / "common_passwords.txt"


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


class AuthService(Service):
    # -- password policy -----------------------------------------------------------------------------------

    @staticmethod
    def check_password_policy(password: str, email: str = "") -> None:
        """At least PASSWORD_MIN_LENGTH characters and PASSWORD_MIN_DISTINCT different ones, a letter and a digit
        or symbol, not a common password, not the email itself. Messages say what to do instead."""
        advice = "for example three or four unrelated words with a digit"
        if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
            raise ValidationError("password", f"must have at least {PASSWORD_MIN_LENGTH} characters: {advice}")
        if len(password) > 256:
            raise ValidationError("password", "must have at most 256 characters")
        if not re.search(r"[^\W\d_]", password) or not re.search(r"[\d\W_]", password):
            raise ValidationError("password", "must mix letters with digits or symbols")
        folded = password.strip().lower()
        if len(set(folded)) < PASSWORD_MIN_DISTINCT or folded in _common_passwords():
            raise ValidationError("password", f"is too easy to guess: use at least {PASSWORD_MIN_LENGTH} characters, "
                                              f"{advice}")
        if email and folded == normalise_email(email):
            raise ValidationError("password", "must not be your email address")

    # -- throttling (per source address, never per account: see defaults.LOGIN_*) --------------------------

    def _throttle_keys(self, email: str, address: str) -> list[tuple[str, int]]:
        """(key, failures allowed) of what a login from ``address`` for ``email`` counts against."""
        return [(f"address:{address}", LOGIN_MAX_FAILURES_PER_ADDRESS),
                (f"pair:{address}|{email}", LOGIN_MAX_FAILURES)]

    def _wait(self, email: str, address: str) -> float:
        now, wait = self.ctx.clock(), 0.0
        for key, _ in self._throttle_keys(email, address):
            doc = self.db.find_one(THROTTLE, {"data.key": key})
            if doc:
                wait = max(wait, doc["data"].get("locked_until", 0) - now)
        return wait

    def _record_failure(self, email: str, address: str) -> None:
        now = self.ctx.clock()
        for key, limit in self._throttle_keys(email, address):
            doc = self.db.find_one(THROTTLE, {"data.key": key})
            if doc is None:
                try:
                    doc = self.db.insert(THROTTLE, {"key": key, "email": email, "failures": 0, "window_start": now,
                                                    "locked_until": 0, "locks": 0}, by="system")
                except Conflict:  # a concurrent failure created it: count on it instead
                    doc = self.db.find_one(THROTTLE, {"data.key": key})
            if now - doc["data"].get("window_start", 0) > LOGIN_FAILURE_WINDOW_S:
                self.db.update(THROTTLE, doc["uid"], {"failures": 0, "window_start": now}, by="system")
            updated = self.db.find_one_and_update(THROTTLE, {"uid": doc["uid"]}, {}, by="system",
                                                  inc={"failures": 1})
            if updated and updated["data"]["failures"] >= limit:
                locks = int(updated["data"].get("locks", 0))
                lockout = min(LOGIN_LOCKOUT_S * 2 ** min(locks, 10), LOGIN_LOCKOUT_MAX_S)
                self.db.update(THROTTLE, doc["uid"], {"locked_until": now + lockout, "locks": locks + 1,
                                                      "failures": 0, "window_start": now}, by="system")

    def clear_failures(self, email: str, address: str | None = None) -> None:
        """Forget the failures for ``email`` (from ``address``, or from everywhere after a password reset).

        Per-address counts stay: a success with one's own account must not buy an attacker new guesses."""
        email = normalise_email(email)
        if address is None:
            self.db.delete_many(THROTTLE, {"data.email": email, "data.key": {"$regex": "^pair:"}})
        else:
            self.db.delete_many(THROTTLE, {"data.key": f"pair:{address}|{email}"})

    # -- operations ----------------------------------------------------------------------------------------

    def login(self, email: str, password: str, address: str = "") -> Actor:
        """Return the Actor for valid credentials of an active account; otherwise AuthenticationFailed.

        ``address`` is where the attempt comes from (the hub passes the client's IP); failures are throttled
        per address and per (address, email), so guessing from one place never locks the account elsewhere.
        """
        email = normalise_email(email)
        address = address or "local"
        wait = self._wait(email, address)
        if wait > 0:
            self.ctx.logs.record(None, "auth.login", f"users/{email}", "denied",
                                 details={"reason": "throttled", "address": address})
            raise LoginThrottled(wait)
        user = self.ctx.users.find_by_email(email) if email else None
        ok = verify_password(password or "", user.data.password if user else dummy_hash())
        if not ok or user is None:
            self._record_failure(email, address)
            self.ctx.logs.record(None, "auth.login", f"users/{email}", "error: invalid credentials")
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        # The password was right, so saying why the account cannot enter reveals nothing to an attacker.
        if user.data.status == "pending":
            raise AuthenticationFailed("Your account is waiting for an administrator's approval. "
                                       "You will be able to sign in once it is approved.")
        if user.data.status == "disabled":
            raise AuthenticationFailed("This account is disabled. Contact an administrator.")
        self.clear_failures(email, address)
        changes: dict[str, Any] = {"last_login": self.ctx.now()}
        if needs_rehash(user.data.password):
            changes["password"] = hash_password(password)
        self.db.update("users", user.uid, changes, by=user.uid)
        actor = self.ctx.users.actor_from(user)
        self.ctx.logs.record(actor, "auth.login", f"users/{user.uid}", "ok")
        return actor

    @audited("auth.register", target=lambda a, k, r: f"users/{r.uid}")
    def register(self, actor: Actor | None, email: str, password: str, password_confirm: str | None = None,
                 name: str = "") -> Record[UserData]:
        """Self-registration as an analyst; pending until approved when settings require approval."""
        if password_confirm is not None and password != password_confirm:
            raise ValidationError("password_confirm", "does not match the password")
        self.check_password_policy(password, email)
        role = self.ctx.roles.by_name("analyst")
        if role is None:
            raise Conflict("Registration is unavailable: the analyst role is missing. Ask an administrator to run "
                           "`dallosh bootstrap`.")
        status = "pending" if self.ctx.settings.general().requireApproval else "active"
        return public(self.ctx.users.insert_user(SYSTEM, email, password, role.uid, name=name, status=status))

    def me(self, actor: Actor) -> Record[UserData]:
        actor = self.authorize(actor)
        return public(self.ctx.users.find(actor.uid))  # type: ignore[arg-type]

    @audited("auth.change_password", method="patch", target=lambda a, k, r: "users/self")
    def change_password(self, actor: Actor, current_password: str, new_password: str) -> None:
        actor = self.authorize(actor)
        user = self.ctx.users.find(actor.uid)
        if user is None or not verify_password(current_password or "", user.data.password):
            raise AuthenticationFailed("Your current password is not correct.")
        if new_password == current_password:
            raise ValidationError("new_password", "must differ from the current password")
        self.check_password_policy(new_password, user.data.email)
        self.db.update("users", user.uid, {"password": hash_password(new_password)}, by=actor.uid)

    @audited("auth.update_account", method="patch", target=lambda a, k, r: "users/self")
    def update_account(self, actor: Actor, **changes: Any) -> Record[UserData]:
        """Change one's own name, email or theme (role and status are admin decisions)."""
        actor = self.authorize(actor)
        allowed = {"name", "email", "theme"}
        if set(changes) - allowed:
            raise ValidationError(f"data.{sorted(set(changes) - allowed)[0]}", "cannot be changed from your profile")
        return public(self.ctx.users.apply_update(actor, actor.uid, changes))

    @audited("auth.delete_account", method="delete", target=lambda a, k, r: "users/self")
    def delete_account(self, actor: Actor, password: str) -> None:
        """Delete one's own account; needs the password, and the last administrator cannot leave."""
        actor = self.authorize(actor)
        user = self.ctx.users.find(actor.uid)
        if user is None or not verify_password(password or "", user.data.password):
            raise AuthenticationFailed("Your password is not correct.")
        self.ctx.users.remove(actor.uid)

    def uses_default_password(self, user: Record[UserData]) -> bool:
        """True while a bootstrap account still has the documented default password."""
        return verify_password(DEFAULT_PASSWORD, user.data.password)

    def wait_time(self, email: str, address: str = "") -> float:
        """Seconds until ``email`` may be tried again from ``address`` (0 when not throttled)."""
        return max(0.0, self._wait(normalise_email(email), address or "local"))


