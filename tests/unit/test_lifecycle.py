from dallosh.lifecycle import ACTIONS, STATUSES, STEPS, TRANSITIONS, allowed_actions, can_transition, next_step


def test_happy_path_is_legal():
    path = ["added", "in_queue", *STEPS, "done"]
    for a, b in zip(path, path[1:], strict=False):
        assert can_transition(a, b), (a, b)


def test_steps_cannot_be_skipped():
    assert not can_transition("reading_dataset", "sending_to_llm")
    assert not can_transition("added", "done")
    assert not can_transition("done", "paused")


def test_every_status_has_an_exit_and_every_target_exists():
    for status in STATUSES:
        assert TRANSITIONS[status], status
        assert TRANSITIONS[status] <= set(STATUSES)


def test_actions_map_to_legal_transitions():
    for action, (target, sources) in ACTIONS.items():
        for source in sources:
            assert can_transition(source, target), (action, source)


def test_allowed_actions():
    assert allowed_actions("added") == ["start"]
    assert allowed_actions("sending_to_llm") == ["pause", "stop"]
    assert allowed_actions("paused") == ["resume", "stop"]
    assert allowed_actions("on_error") == ["stop", "retry"]
    assert allowed_actions("done") == ["start"]


def test_next_step():
    assert next_step(None) == "reading_dataset"
    assert next_step("sending_to_llm") == "appending_columns"
    assert next_step("saving_file") is None


def test_statuses_read_in_the_analysts_words():
    from dallosh.lifecycle import status_words

    assert status_words("sending_to_llm") == "labelling" and status_words("in_queue") == "in queue"
    assert status_words("paused") == "paused"  # the others are words already
    assert all("llm" not in status_words(s) and "_" not in status_words(s) for s in STATUSES)
