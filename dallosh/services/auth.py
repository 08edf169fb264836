"""Accounts as their owners see them: register, login (throttled), change password, update, delete.

Login failures never reveal whether an email exists: unknown emails cost the same hash time and get the same
message, and throttling counts failures per email whether or not the account exists.
"""

from __future__ import annotations

import re
from typing import Any

from dallosh.defaults import (
    DEFAULT_PASSWORD,
    LOGIN_FAILURE_WINDOW_S,
    LOGIN_LOCKOUT_S,
    LOGIN_MAX_FAILURES,
    PASSWORD_MIN_LENGTH,
)
from dallosh.errors import AuthenticationFailed, Conflict, LoginThrottled, ValidationError
from dallosh.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from dallosh.schemas import Record, UserData, normalise_email
from dallosh.services.base import SYSTEM, Actor, Service, audited
from dallosh.services.users import public

ATTEMPTS = "login_attempts"
INVALID_CREDENTIALS = "Invalid email or password."


class AuthService(Service):
    # -- password policy -----------------------------------------------------------------------------------

    @staticmethod
    def check_password_policy(password: str, email: str = "") -> None:
        """At least PASSWORD_MIN_LENGTH characters, a letter and a digit or symbol, not the email itself."""
        if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
            raise ValidationError("password", f"must have at least {PASSWORD_MIN_LENGTH} characters")
        if len(password) > 256:
            raise ValidationError("password", "must have at most 256 characters")
        if not re.search(r"[^\W\d_]", password) or not re.search(r"[\d\W_]", password):
            raise ValidationError("password", "must mix letters with digits or symbols")
        if email and password.strip().lower() == normalise_email(email):
            raise ValidationError("password", "must not be your email address")

    # -- throttling ----------------------------------------------------------------------------------------

    def _attempts(self, email: str) -> dict[str, Any] | None:
        return self.db.find_one(ATTEMPTS, {"data.email": email})

    def _check_throttle(self, email: str) -> None:
        doc = self._attempts(email)
        if doc is None:
            return
        locked_until = doc["data"].get("locked_until", 0)
        now = self.ctx.clock()
        if locked_until > now:
            raise LoginThrottled(locked_until - now)

    def _record_failure(self, email: str) -> None:
        now = self.ctx.clock()
        doc = self._attempts(email)
        if doc is None or now - doc["data"].get("window_start", 0) > LOGIN_FAILURE_WINDOW_S:
            data = {"email": email, "failures": 1, "window_start": now, "locked_until": 0}
            if doc is None:
                try:
                    self.db.insert(ATTEMPTS, data, by="system")
                except Conflict:  # a concurrent failure created it: count on it instead
                    self.db.find_one_and_update(ATTEMPTS, {"data.email": email}, {}, by="system",
                                                inc={"failures": 1})
            else:
                self.db.update(ATTEMPTS, doc["uid"], data, by="system")
            return
        updated = self.db.find_one_and_update(ATTEMPTS, {"uid": doc["uid"]}, {}, by="system", inc={"failures": 1})
        if updated and updated["data"]["failures"] >= LOGIN_MAX_FAILURES:
            self.db.update(ATTEMPTS, doc["uid"], {"locked_until": now + LOGIN_LOCKOUT_S}, by="system")

    def clear_failures(self, email: str) -> None:
        self.db.delete_many(ATTEMPTS, {"data.email": normalise_email(email)})

    # -- operations ----------------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> Actor:
        """Return the Actor for valid credentials of an active account; otherwise AuthenticationFailed."""
        email = normalise_email(email)
        try:
            self._check_throttle(email)
        except LoginThrottled:
            self.ctx.logs.record(None, "auth.login", f"users/{email}", "denied", details={"reason": "throttled"})
            raise
        user = self.ctx.users.find_by_email(email) if email else None
        ok = verify_password(password or "", user.data.password if user else dummy_hash())
        if not ok or user is None:
            self._record_failure(email)
            self.ctx.logs.record(None, "auth.login", f"users/{email}", "error: invalid credentials")
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        # The password was right, so saying why the account cannot enter reveals nothing to an attacker.
        if user.data.status == "pending":
            raise AuthenticationFailed("Your account is waiting for an administrator's approval. "
                                       "You will be able to sign in once it is approved.")
        if user.data.status == "disabled":
            raise AuthenticationFailed("This account is disabled. Contact an administrator.")
        self.clear_failures(email)
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

    def wait_time(self, email: str) -> float:
        """Seconds until ``email`` may try again (0 when not throttled)."""
        doc = self._attempts(normalise_email(email))
        return max(0.0, doc["data"].get("locked_until", 0) - self.ctx.clock()) if doc else 0.0


