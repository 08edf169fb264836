"""Alert rules: what a rule watches, when it fires, what a firing says.

* :mod:`~dallosh.alerts.evaluate` — the metric per period, thresholds (k·σ over a trailing window, or fixed) and
  the episodes (pure functions, unit-tested on constructed data);
* :mod:`~dallosh.alerts.explain` — the spike explanation of a fired period, as plain data;
* :mod:`~dallosh.alerts.messages` — titles, the e-mail (Jinja2 templates in ``templates/``), the webhook text
  and the links that open Analysis on the period.

The rules, their episode state and their firings are kept by ``services.alerts``, which the worker calls when
a task is done.
"""
