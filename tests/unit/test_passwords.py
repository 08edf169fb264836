from dallosh.passwords import hash_password, needs_rehash, verify_password


def test_hash_and_verify():
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert hash_password("correct horse") != stored
    assert not needs_rehash(stored)


def test_garbage_never_raises():
    for stored in ("", "plain", "scrypt$1$2", "bcrypt$x$y$z$a$b", "scrypt$x$8$1$AAAA$BBBB"):
        assert verify_password("x", stored) is False
