"""The skipped-test check fails a run with an undeclared skip and lets a declared one pass."""

from __future__ import annotations

pytest_plugins = ["pytester"]


def test_an_undeclared_skip_fails_the_run(pytester):
    pytester.makepyfile("""
        import pytest
        def test_ok(): pass
        def test_quietly(): pytest.importorskip("no_such_module_of_ours")
    """)
    result = pytester.runpytest("-p", "tests.skipcheck")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*skipped for an undeclared reason*", "*test_quietly*"])


def test_a_declared_skip_passes(pytester):
    pytester.makepyfile("""
        import pytest
        def test_ok(): pass
        @pytest.mark.skipif(True, reason="broker restart disabled")
        def test_restart(): pass
    """)
    assert pytester.runpytest("-p", "tests.skipcheck").ret == 0
