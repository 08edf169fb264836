"""Who labelled the rows, in the analyst's words (task view and Analysis page)."""

from __future__ import annotations

from dallosh.ui.components import human_int
from dallosh.ui.labelling import labelling_html, model_name


def test_model_names_say_what_they_are():
    assert model_name("builtin") == "the built-in analyzer"
    assert model_name("openai:gemma3-270m") == "the AI model gemma3-270m"
    assert model_name("ollama:llama3.2") == "the AI model llama3.2"
    assert model_name("rule:operator") == "the operator's own tweets (no model needed)"
    assert model_name(None) == "unknown"


def test_counts_busiest_first_and_fallback_reasons():
    html = str(labelling_html({"builtin": 20, "openai:gemma": 1280, "rule:operator": 0},
                              [{"model": "openai:gemma", "to": "builtin", "rows": 20,
                                "reason": "server error (HTTP 500) <b>"}]))
    assert html.index(f"the AI model gemma {human_int(1280)}") < html.index("the built-in analyzer 20")
    assert "operator" not in html.split("<ul")[0]  # a model with no rows is not listed
    assert "20 rows went from the AI model gemma to the built-in analyzer: server error (HTTP 500) &lt;b&gt;" in html


def test_nothing_when_nothing_was_labelled():
    assert str(labelling_html({})) == "" and str(labelling_html(None)) == ""


def test_fallback_reasons_never_show_server_addresses_or_exception_names():
    from dallosh.ui.labelling import labelling_html, plain_reason

    assert plain_reason("cannot reach http://10.0.0.5:8080/v1 (ConnectError)") == "cannot reach the AI server"
    assert plain_reason("cannot reach the Ollama server at http://ollama:11434 (ReadTimeout)") == \
        "cannot reach the Ollama server"
    html = str(labelling_html({"builtin": 5}, [{"rows": 5, "model": "openai:gemma3", "to": "builtin",
                                               "reason": "cannot reach http://192.168.1.20:8000/v1 (ConnectError)"}]))
    assert "192.168" not in html and "ConnectError" not in html and "cannot reach the AI server" in html
    # positive control: a reason without an address is shown as it is
    assert plain_reason("the model answered 3 rows of 8 twice") == "the model answered 3 rows of 8 twice"
