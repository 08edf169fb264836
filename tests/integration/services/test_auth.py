from __future__ import annotations

import pytest

from dallosh.defaults import LOGIN_LOCKOUT_S, LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS
from dallosh.errors import AuthenticationFailed, Conflict, LoginThrottled, PermissionDenied, ValidationError


def test_login_default_accounts(services):
    admin = services.auth.login("admin@free.com", "123456")
    assert admin.is_admin and admin.role_name == "admin"
    analyst = services.auth.login("  Analyst@Free.com ", "123456")
    assert not analyst.is_admin and analyst.can("manage_tasks") and not analyst.can("manage_users")


def test_passwords_are_salted_slow_hashes(services):
    a = services.users.find_by_email("admin@free.com").data.password
    b = services.users.find_by_email("analyst@free.com").data.password
    assert a.startswith("scrypt$") and "123456" not in a
    assert a != b  # same password, different salt


def test_wrong_password_and_unknown_email_get_the_same_message(services):
    with pytest.raises(AuthenticationFailed) as wrong:
        services.auth.login("admin@free.com", "nope")
    with pytest.raises(AuthenticationFailed) as unknown:
        services.auth.login("nobody@free.com", "nope")
    assert str(wrong.value) == str(unknown.value) == "Invalid email or password."


def test_wrong_password_ten_times_throttles_then_recovers(services, clock):
    errors = []
    for _ in range(10):
        with pytest.raises(AuthenticationFailed) as exc:
            services.auth.login("analyst@free.com", "wrong-password")
        errors.append(exc.value)
    assert not isinstance(errors[LOGIN_MAX_FAILURES - 1], LoginThrottled)
    assert all(isinstance(e, LoginThrottled) for e in errors[LOGIN_MAX_FAILURES:])
    assert "Wait" in str(errors[-1])
    with pytest.raises(LoginThrottled):  # even the right password is refused while locked
        services.auth.login("analyst@free.com", "123456")
    clock.advance(LOGIN_LOCKOUT_S + 1)
    assert services.auth.login("analyst@free.com", "123456").email == "analyst@free.com"
    # a success clears the counter
    with pytest.raises(AuthenticationFailed) as exc:
        services.auth.login("analyst@free.com", "wrong")
    assert not isinstance(exc.value, LoginThrottled)


def test_a_stranger_cannot_lock_a_real_user_out(services):
    """Guessing from one address throttles that address for that email; the owner signs in from elsewhere."""
    for _ in range(LOGIN_MAX_FAILURES + 3):
        with pytest.raises(AuthenticationFailed):
            services.auth.login("admin@free.com", "guess-123", address="203.0.113.9")
    with pytest.raises(LoginThrottled):  # the attacker's address is refused, even with the right password
        services.auth.login("admin@free.com", "123456", address="203.0.113.9")
    assert services.auth.login("admin@free.com", "123456", address="198.51.100.7").is_admin


def test_one_address_trying_many_emails_is_throttled(services):
    for i in range(LOGIN_MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(AuthenticationFailed) as exc:
            services.auth.login(f"user{i}@free.com", "guess-123", address="203.0.113.9")
        assert not isinstance(exc.value, LoginThrottled)  # each email tried once: no pair lock
    with pytest.raises(LoginThrottled):  # any email, even a real one with its right password
        services.auth.login("analyst@free.com", "123456", address="203.0.113.9")
    assert services.auth.login("analyst@free.com", "123456", address="198.51.100.7").email == "analyst@free.com"


def test_own_successful_login_does_not_reset_an_address_count(services):
    for i in range(LOGIN_MAX_FAILURES_PER_ADDRESS - 1):
        with pytest.raises(AuthenticationFailed):
            services.auth.login(f"user{i}@free.com", "guess-123", address="203.0.113.9")
    services.auth.login("analyst@free.com", "123456", address="203.0.113.9")  # the attacker's own account
    with pytest.raises(AuthenticationFailed):
        services.auth.login("someone@free.com", "guess-123", address="203.0.113.9")
    with pytest.raises(LoginThrottled):
        services.auth.login("other@free.com", "guess-123", address="203.0.113.9")


def test_repeated_lockouts_back_off(services, clock):
    def fail_until_locked() -> float:
        for _ in range(LOGIN_MAX_FAILURES):
            with pytest.raises(AuthenticationFailed):
                services.auth.login("analyst@free.com", "guess-123", address="203.0.113.9")
        return services.auth.wait_time("analyst@free.com", "203.0.113.9")

    first = fail_until_locked()
    assert LOGIN_LOCKOUT_S - 1 < first <= LOGIN_LOCKOUT_S
    clock.advance(first + 1)
    second = fail_until_locked()
    assert 2 * LOGIN_LOCKOUT_S - 1 < second <= 2 * LOGIN_LOCKOUT_S


def test_throttling_applies_to_unknown_emails_too(services):
    """Otherwise the lockout message itself would reveal which emails exist."""
    for _ in range(LOGIN_MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            services.auth.login("ghost@free.com", "x")
    with pytest.raises(LoginThrottled):
        services.auth.login("ghost@free.com", "x")


def test_registration_waits_for_approval_by_default(services):
    user = services.auth.register(None, "stranger@example.com", "s3cret-pass")
    assert user.data.status == "pending"
    with pytest.raises(AuthenticationFailed, match="approval"):
        services.auth.login("stranger@example.com", "s3cret-pass")


def test_register_creates_active_analyst_when_registration_is_open(services, admin):
    services.settings.update_general(admin, requireApproval=False)
    user = services.auth.register(None, "New.User@Example.com", "s3cret-pass", "s3cret-pass", name="New")
    assert user.data.email == "new.user@example.com" and user.data.password == ""
    assert services.roles.find(user.data.role_id).data.name == "analyst"
    actor = services.auth.login("new.user@example.com", "s3cret-pass")
    assert actor.role_name == "analyst"


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@x.io", "sp ace@x.io", ""])
def test_register_rejects_malformed_email(services, email):
    with pytest.raises(ValidationError) as exc:
        services.auth.register(None, email, "s3cret-pass")
    assert exc.value.field == "data.email"


@pytest.mark.parametrize("password", ["short1", "onlyletters", "12345678", "x" * 300, "password1", "aaaaaaa1",
                                      "aaaaaaaaa1", "Azertyuiop1", "motdepasse123", "1234567890", "p@example.com"])
def test_register_enforces_password_policy(services, password):
    with pytest.raises(ValidationError) as exc:
        services.auth.register(None, "p@example.com", password)
    assert exc.value.field == "password"


@pytest.mark.parametrize("password", ["s3cret-pass", "cheval batterie agrafe 7", "Tr0ub4dor&3x"])
def test_register_accepts_reasonable_passwords(services, password):
    assert services.auth.register(None, "p@example.com", password).data.status == "pending"


def test_register_mismatched_confirmation_and_duplicate(services):
    with pytest.raises(ValidationError) as exc:
        services.auth.register(None, "p@example.com", "s3cret-pass", "other-pass1")
    assert exc.value.field == "password_confirm"
    with pytest.raises(Conflict):
        services.auth.register(None, "ADMIN@free.com", "s3cret-pass")


def test_registration_pending_until_approved(services, admin):
    services.settings.update_general(admin, requireApproval=True)
    user = services.auth.register(None, "wait@example.com", "s3cret-pass")
    assert user.data.status == "pending"
    with pytest.raises(AuthenticationFailed, match="approval"):
        services.auth.login("wait@example.com", "s3cret-pass")
    with pytest.raises(AuthenticationFailed, match="Invalid email or password"):  # no hint without the password
        services.auth.login("wait@example.com", "wrong-pass1")
    services.users.approve(admin, user.uid)
    assert services.auth.login("wait@example.com", "s3cret-pass").uid == user.uid


def test_change_password(services, analyst):
    with pytest.raises(AuthenticationFailed):
        services.auth.change_password(analyst, "bad", "n3w-password")
    with pytest.raises(ValidationError):
        services.auth.change_password(analyst, "123456", "weak")
    services.auth.change_password(analyst, "123456", "n3w-password")
    with pytest.raises(AuthenticationFailed):
        services.auth.login("analyst@free.com", "123456")
    assert services.auth.login("analyst@free.com", "n3w-password").uid == analyst.uid


def test_update_account_cannot_change_role(services, analyst):
    updated = services.auth.update_account(analyst, name="Ana Lyst", theme="dark")
    assert updated.data.name == "Ana Lyst" and updated.data.theme == "dark"
    with pytest.raises(ValidationError):
        services.auth.update_account(analyst, role_id="anything")
    with pytest.raises(ValidationError):
        services.auth.update_account(analyst, theme="purple")
    with pytest.raises(Conflict):
        services.auth.update_account(analyst, email="admin@free.com")


def test_delete_account_needs_password_and_is_final(services, analyst):
    with pytest.raises(AuthenticationFailed):
        services.auth.delete_account(analyst, "wrong")
    services.auth.delete_account(analyst, "123456")
    assert services.users.find_by_email("analyst@free.com") is None
    with pytest.raises(PermissionDenied):  # the old session is dead at once
        services.auth.me(analyst)


def test_last_admin_cannot_delete_own_account(services, admin):
    with pytest.raises(Conflict, match="last active administrator"):
        services.auth.delete_account(admin, "123456")


def test_disabled_user_cannot_log_in_and_loses_access(services, admin, analyst):
    services.users.update(admin, analyst.uid, status="disabled")
    with pytest.raises(AuthenticationFailed, match="disabled"):
        services.auth.login("analyst@free.com", "123456")
    with pytest.raises(PermissionDenied):
        services.files.list(analyst)


def test_logins_are_logged_without_passwords(services):
    with pytest.raises(AuthenticationFailed):
        services.auth.login("admin@free.com", "Sup3rSecret!")
    services.auth.login("admin@free.com", "123456")
    entries = services.db.find("logs", {"data.action": "auth.login"})
    assert [e["data"]["result"] for e in entries][-2:] == ["error: invalid credentials", "ok"]
    assert "Sup3rSecret" not in repr(entries) and "123456" not in repr(entries)
