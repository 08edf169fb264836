"""Every product limit and default in one place, each with the reason for its value.

Modules import these names instead of repeating numbers; the settings service validates user input
against them and the docs list them.
"""

from __future__ import annotations

#: Retries per LLM request when the spec's AI config gives none (original spec: "3 by default").
RETRY_REQUESTS_DEFAULT = 3
#: Upper bound on retries per request (original spec: "number max 10"); more only delays the fallback.
RETRY_REQUESTS_MAX = 10
#: Rows per LLM page when the AI config gives none (original spec: "pagination by 500 rows by default").
PAGINATE_ROWS_DEFAULT = 500
#: Upper bound on rows per page (original spec: "number max 5000"); a checkpoint is written after each page.
PAGINATE_ROWS_MAX = 5000
#: Rows sent in one chat request at most (the token budget below usually decides first for long tweets).
ROWS_PER_REQUEST = 25
#: Estimated tokens of tweet text in one request: 25 typical tweets (~40 tokens) fit; longer ones are split so a
#: request, its ~1,200-token system prompt and its answer stay inside a 4k-token context.
LLM_REQUEST_ROW_TOKENS = 1600
#: UTF-8 bytes per token when estimating without the model's tokenizer: French tweets measured 3.1 characters per
#: token with Gemma 3's tokenizer; counting bytes (accents 2, emoji 4) makes the estimate err high.
LLM_BYTES_PER_TOKEN = 3
#: Answer tokens allowed per row (max_tokens / num_predict): one row of the compact answer costs ~12.
LLM_COMPLETION_TOKENS_PER_ROW = 24
#: Ollama's num_ctx is rounded up to a multiple of this: Ollama reloads a model whenever num_ctx changes.
LLM_CONTEXT_STEP = 2048
#: Temperature of the re-ask after an unusable answer (the same request at temperature 0 gets the same answer).
LLM_RETRY_TEMPERATURE = 0.3
#: Request chunks that fail in a row (each after its retries) before a model's circuit opens; while it is open
#: the model's rows go straight to the next model instead of waiting through every retry.
LLM_BREAKER_FAILURES = 2
#: Seconds an open circuit waits before one chunk tries the model again (a success closes it).
LLM_BREAKER_COOLDOWN_S = 60.0
#: Hybrid labelling: rows whose built-in confidence (its least confident label) is at least this keep the built-in
#: labels; the others go to the LLM. 1 sends every row; 0 keeps every row the built-in can score.
HYBRID_THRESHOLD_DEFAULT = 0.7
#: Concurrent requests per model unless the model config says otherwise (providers rate-limit bursts).
REQUEST_CONCURRENCY_DEFAULT = 1
#: Upper bound on per-model concurrency, to stay polite with external providers.
REQUEST_CONCURRENCY_MAX = 16
#: Seconds one LLM HTTP request may take before it counts as a timeout and is retried.
LLM_REQUEST_TIMEOUT_S = 120.0
#: First backoff delay after a failed LLM request; doubles per retry (capped by LLM_BACKOFF_MAX_S).
LLM_BACKOFF_BASE_S = 0.5
LLM_BACKOFF_MAX_S = 30.0

#: The original spec's permission list, plus ``use_notebooks`` (JupyterLab access for power users,
#: issue 4): without it a user's server is Voilà-only, and ``manage_all_datasets``: datasets and their tasks
#: belong to whoever uploaded them; deleting, running, pausing or stopping someone else's needs this one
#: (admins have it; analysts act on their own uploads only).
PERMISSIONS: tuple[str, ...] = (
    "manage_users",
    "manage_datasets",
    "manage_tasks",
    "manage_app",
    "view_overview",
    "read_users",
    "read_datasets",
    "read_tasks",
    "use_notebooks",
    "manage_all_datasets",
)
#: Permissions of the default analyst role (issue 2).
ANALYST_PERMISSIONS: tuple[str, ...] = (
    "view_overview",
    "read_datasets",
    "manage_datasets",
    "read_tasks",
    "manage_tasks",
)

#: Labels the pipeline appends; every provider must answer within these values.
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
PRIORITIES: tuple[int, ...] = (0, 1, 2)
#: Longest topic description the settings accept: every LLM request repeats every description.
TOPIC_DESCRIPTION_MAX = 300
#: Default topic list (editable in settings).
DEFAULT_TOPICS: tuple[str, ...] = ("Réseau", "Facturation", "Service Client", "Matériel", "Offres", "Autre")
#: Accounts of the operator itself: flagged (not dropped) by cleaning, used for time-to-first-reply.
DEFAULT_OPERATOR_ACCOUNTS: tuple[str, ...] = ("free", "freebox", "free_1337", "FreeMobile")

#: Columns of the tweet export format (original spec).
DATASET_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "full_text", "media", "screen_name", "name", "profile_image_url", "user_id",
    "in_reply_to", "retweeted_status", "quoted_status", "media_tags", "favorite_count", "retweet_count",
    "bookmark_count", "quote_count", "reply_count", "views_count", "favorited", "retweeted", "bookmarked", "url",
)
#: Columns without which a dataset cannot be analysed at all.
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "full_text")
#: Upload limit when settings give none: the issue asks that 200 MB exports work. Sizes count 1,048,576 bytes
#: per MB everywhere (limit, messages, the datasets list), so "200 MB" is one number wherever it is shown.
MAX_UPLOAD_MB_DEFAULT = 200
#: Rows shown by the preview before a dataset is added.
PREVIEW_ROWS_DEFAULT = 20
#: Longest header line accepted, in bytes. 2,000 columns of 40 characters fit in 80 KB; a longer first line is
#: data without line breaks, and parsing one whole took 34 s and 780 MB for 2 MB (120 s, 2 GB for 50 MB).
HEADER_MAX_BYTES = 256 * 1024
#: Most columns accepted in a header: a tweet export has 22; 2,000 still parse in a second.
HEADER_MAX_COLUMNS = 5000
#: Longest text accepted in one row, in characters. A long post holds 25,000; a "text" far longer is a double
#: quote opened in that row and closed rows later, which swallowed the rows in between.
TEXT_MAX_CHARS = 100_000
#: Largest believable engagement count (likes, retweets, replies, quotes, bookmarks, views): the most viewed
#: posts have a few billion views. A larger value is flagged as not believable and counts as 0.
COUNT_MAX = 10**10
#: Columns the pipeline adds after cleaning (labels). An upload that already has them keeps its own values
#: renamed ``<name>_input``, so that no value of the file is overwritten.
LABEL_COLUMNS: tuple[str, ...] = ("sentiment", "priority", "main_topic", "labelled_by")

#: Login throttling, per source address: after LOGIN_MAX_FAILURES failures for one email from one address
#: within the window, that address may not try that email for LOGIN_LOCKOUT_S (doubling on each new lock, up to
#: LOGIN_LOCKOUT_MAX_S). An account is never locked as such: its owner, elsewhere, still signs in, so a stranger
#: cannot lock a real user out.
LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW_S = 15 * 60
LOGIN_LOCKOUT_S = 15 * 60
LOGIN_LOCKOUT_MAX_S = 24 * 3600
#: ... and after this many failures from one address, whatever the emails, that address is refused (one address
#: tried 155 emails in 12 s). A success does not reset this count, or an attacker's own account would.
LOGIN_MAX_FAILURES_PER_ADDRESS = 20
#: Minimum password length for new passwords (the bootstrap's default "123456" is below it on purpose,
#: so the app keeps warning until it is changed). Length beats composition rules; common and repetitive
#: passwords are refused as well (dallosh/data/common_passwords.txt).
PASSWORD_MIN_LENGTH = 10
#: A password needs at least this many different characters ("aaaaaaaaa1" is long but guessable).
PASSWORD_MIN_DISTINCT = 5

#: Default accounts created by ``dallosh bootstrap`` when missing (DESIGN.md §4).
DEFAULT_PASSWORD = "123456"
DEFAULT_ADMIN_EMAIL = "admin@free.com"
DEFAULT_ANALYST_EMAIL = "analyst@free.com"
