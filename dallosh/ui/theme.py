"""The red theme as CSS classes on the App root: ``dl-app`` plus ``dl-light`` or ``dl-dark``.

Switching theme only swaps one class on the root widget, so it needs no page reload and no JavaScript. Colours
are CSS variables defined once per mode; widgets are themed by overriding ipywidgets' own ``--jp-widgets-*``
variables inside the root (they are resolved at ``:root``, so overriding the JupyterLab colours alone would not
reach them). Contrast was checked for WCAG AA (4.5:1) on text: white on #c62828 is 5.6:1; #ff8a80 on #17181c
is 8.4:1.
"""

from __future__ import annotations

from typing import Literal

from dallosh.ui.html import Markup, fragment

Theme = Literal["light", "dark"]
THEMES: tuple[str, ...] = ("light", "dark")
ROOT_CLASS = "dl-app"

CSS = r"""
.dl-app {
  --dl-primary: #c62828; --dl-primary-hover: #a31f1f; --dl-on-primary: #ffffff;
  --dl-accent: #b71c1c; --dl-accent-soft: #fdecea;
  --dl-bg: #f6f6f7; --dl-surface: #ffffff; --dl-surface-2: #f1f1f3; --dl-text: #1d1d1f; --dl-muted: #5b5e66;
  --dl-border: #dedfe3; --dl-shadow: 0 1px 2px rgba(0,0,0,.06), 0 1px 3px rgba(0,0,0,.08);
  --dl-ok: #1b7a34; --dl-ok-soft: #e6f4ea; --dl-warn: #8a5300; --dl-warn-soft: #fff4e0;
  --dl-info: #1456a8; --dl-info-soft: #e8f0fb; --dl-error: #b3261e; --dl-error-soft: #fdecea;
  --dl-idle: #6b6f78; --dl-idle-soft: #eceef1; --dl-nav-bg: #b71c1c; --dl-nav-text: #ffffff;
  --jp-widgets-color: var(--dl-text); --jp-widgets-label-color: var(--dl-text);
  --jp-widgets-readout-color: var(--dl-text); --jp-widgets-input-color: var(--dl-text);
  --jp-widgets-input-background-color: var(--dl-surface); --jp-widgets-input-border-color: var(--dl-border);
  --jp-widgets-input-focus-border-color: var(--dl-primary); --jp-widgets-font-size: 14px;
  --jp-widgets-inline-height: 32px; --jp-widgets-inline-label-width: 150px;
  --jp-layout-color1: var(--dl-surface); --jp-layout-color2: var(--dl-surface-2);
  --jp-layout-color3: var(--dl-border); --jp-ui-font-color1: var(--dl-text); --jp-ui-font-color2: var(--dl-muted);
  --jp-content-font-color1: var(--dl-text); --jp-border-color1: var(--dl-border);
  --jp-brand-color1: var(--dl-primary); --jp-brand-color2: var(--dl-primary);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; color: var(--dl-text); background: var(--dl-bg); min-height: 100vh; width: 100%;
  box-sizing: border-box; line-height: 1.4;
}
.dl-app.dl-dark {
  --dl-primary: #c62828; --dl-primary-hover: #e53935; --dl-on-primary: #ffffff;
  --dl-accent: #ff8a80; --dl-accent-soft: #3a1d1d;
  --dl-bg: #111214; --dl-surface: #1b1c20; --dl-surface-2: #26272c; --dl-text: #ececee; --dl-muted: #a9abb3;
  --dl-border: #34353b; --dl-shadow: 0 1px 3px rgba(0,0,0,.6);
  --dl-ok: #7bd88f; --dl-ok-soft: #16301d; --dl-warn: #ffc46b; --dl-warn-soft: #3a2a10;
  --dl-info: #8ab4f8; --dl-info-soft: #162338; --dl-error: #ff8a80; --dl-error-soft: #3a1d1d;
  --dl-idle: #b4b7bf; --dl-idle-soft: #2c2d33; --dl-nav-bg: #7f1212; --dl-nav-text: #ffffff;
}
/* The page around the app follows its mode (Chromium and Firefox support :has). */
body:has(.dl-app.dl-dark), body:has(.dl-app.dl-dark) #rendered_cells { background: #111214 !important; }
body:has(.dl-app) { margin: 0; }
.dl-app * { box-sizing: border-box; }
/* Built by a preheated kernel: hidden until it has re-read the user, settings and data (dallosh/ui/app.py). */
.dl-app.dl-preheated > .dl-navbar, .dl-app.dl-preheated > .dl-body { visibility: hidden; }
.dl-app .widget-html-content, .dl-app .widget-label { color: var(--dl-text); font-size: 14px; }
.dl-app .widget-html-content { line-height: 1.4; }
.dl-app a { color: var(--dl-accent); }

/* navbar */
.dl-app .dl-navbar { background: var(--dl-nav-bg); color: var(--dl-nav-text); padding: 6px 16px;
  align-items: center; gap: 10px; min-height: 52px; flex-wrap: nowrap; }
.dl-app .dl-navbar .widget-html-content { color: var(--dl-nav-text); }
.dl-app .dl-brand .widget-html-content { font-size: 18px; font-weight: 700; letter-spacing: .2px;
  white-space: nowrap; }
.dl-app .dl-brand-mark { display: inline-block; width: 12px; height: 12px; border-radius: 3px; background: #fff;
  margin-right: 8px; vertical-align: 1px; }
.dl-app .dl-nav-spacer { flex: 1 1 auto; }
.dl-app .dl-user .widget-html-content { font-size: 13px; text-align: right; white-space: nowrap; }
.dl-app .dl-user .dl-role { display: inline-block; padding: 1px 8px; border-radius: 10px; margin-left: 6px;
  background: rgba(255,255,255,.18); font-size: 12px; text-transform: capitalize; }
.dl-app .dl-navbar .jupyter-button, .dl-app .dl-navbar a.dl-navlink {
  background: rgba(255,255,255,.12); color: #fff; border: 1px solid rgba(255,255,255,.35); border-radius: 6px;
  height: 32px; line-height: 30px; padding: 0 12px; font-size: 13px; text-decoration: none; display: inline-block;
  white-space: nowrap; width: auto; }
.dl-app .dl-navbar .jupyter-button:hover, .dl-app .dl-navbar a.dl-navlink:hover { background: rgba(255,255,255,.25); }
.dl-app .dl-navbar .jupyter-button.mod-active { background: rgba(255,255,255,.3); box-shadow: none; }

/* layout */
.dl-app .dl-body { align-items: stretch; width: 100%; flex-wrap: nowrap; }
.dl-app .dl-sidebar { width: 210px; min-width: 210px; background: var(--dl-surface);
  border-right: 1px solid var(--dl-border);
  padding: 14px 10px; gap: 4px; min-height: calc(100vh - 52px); }
.dl-app .dl-sidebar .jupyter-button.dl-nav-item { width: 100%; height: 38px; text-align: left; padding: 0 14px;
  background: transparent; color: var(--dl-text); border-radius: 8px; font-size: 14px; box-shadow: none; margin: 0; }
.dl-app .dl-sidebar .jupyter-button.dl-nav-item:hover { background: var(--dl-surface-2); }
.dl-app .dl-sidebar .jupyter-button.dl-nav-item.dl-active { background: var(--dl-accent-soft);
  color: var(--dl-accent);
  font-weight: 600; box-shadow: inset 3px 0 0 var(--dl-primary); }
.dl-app .dl-sidebar-title .widget-html-content { font-size: 11px; text-transform: uppercase; letter-spacing: .8px;
  color: var(--dl-muted); padding: 0 14px 6px 14px; overflow-wrap: anywhere; }
.dl-app .dl-content { flex: 1 1 auto; padding: 20px 28px 40px 28px; min-width: 0; gap: 14px; overflow: visible; }
.dl-app .dl-view { gap: 14px; width: 100%; overflow: visible; }
.dl-app .dl-h1 .widget-html-content h1 { font-size: 22px; font-weight: 700; margin: 0; line-height: 1.3; }
.dl-app .dl-view-body { gap: 14px; overflow: visible; }
.dl-app .dl-view-header { overflow: visible; }
.dl-app .dl-h2 .widget-html-content { font-size: 16px; font-weight: 650; }
.dl-app .dl-muted, .dl-app .dl-muted .widget-html-content { color: var(--dl-muted); font-size: 13px; }

/* cards */
.dl-app .dl-card { background: var(--dl-surface); border: 1px solid var(--dl-border); border-radius: 10px;
  box-shadow: var(--dl-shadow); padding: 14px 16px; gap: 8px; overflow: visible; }
.dl-app .dl-row { gap: 12px; flex-wrap: wrap; align-items: stretch; overflow: visible; }
.dl-app .dl-row-nowrap { gap: 12px; flex-wrap: nowrap; align-items: flex-start; }
.dl-app .dl-kpi { flex: 1 1 150px; min-width: 150px; }
.dl-app .dl-kpi .dl-kpi-value { font-size: 26px; font-weight: 700; color: var(--dl-text); line-height: 1.15; }
.dl-app .dl-kpi .dl-kpi-label { font-size: 12px; color: var(--dl-muted); text-transform: uppercase;
  letter-spacing: .6px; }
.dl-app .dl-kpi .dl-kpi-sub { font-size: 12px; color: var(--dl-muted); }

/* alerts, banners, badges */
.dl-app .dl-alert .widget-html-content { border-radius: 8px; padding: 10px 14px; font-size: 14px;
  white-space: normal; height: auto; overflow-wrap: anywhere; }
.dl-app .dl-alert-error .widget-html-content { background: var(--dl-error-soft); color: var(--dl-error);
  border: 1px solid var(--dl-error); }
.dl-app .dl-alert-success .widget-html-content { background: var(--dl-ok-soft); color: var(--dl-ok);
  border: 1px solid var(--dl-ok); }
.dl-app .dl-alert-info .widget-html-content { background: var(--dl-info-soft); color: var(--dl-info);
  border: 1px solid var(--dl-info); }
.dl-app .dl-alert-warning .widget-html-content { background: var(--dl-warn-soft); color: var(--dl-warn);
  border: 1px solid var(--dl-warn); }
.dl-app .dl-banner .widget-html-content { background: var(--dl-warn-soft); color: var(--dl-warn); padding: 8px 16px;
  border-bottom: 1px solid var(--dl-warn); font-weight: 600; }
/* The default-password warning under the navbar, on every view but the Profile (which has its own). */
.dl-app .dl-password-banner { background: var(--dl-warn-soft); border-bottom: 1px solid var(--dl-warn);
  padding: 2px 16px; align-items: center; gap: 10px; flex-wrap: wrap; }
.dl-app .dl-password-banner .dl-password-text .widget-html-content { color: var(--dl-warn); font-weight: 600; }
.dl-app .dl-password-banner .jupyter-button.dl-link { color: var(--dl-warn); font-weight: 600; height: 30px; }
/* Task notifications (ui/notifications.py): a stack at the bottom right, above the views, in both themes. */
.dl-app .dl-toasts { position: fixed; right: 20px; bottom: 20px; z-index: 9000; width: 380px;
  max-width: calc(100vw - 40px); gap: 10px; overflow: visible; }
.dl-app .dl-toast { background: var(--dl-surface); color: var(--dl-text); border: 1px solid var(--dl-border);
  border-left: 5px solid var(--dl-primary); border-radius: 10px; padding: 10px 10px 12px 14px; gap: 6px;
  box-shadow: 0 8px 24px rgba(0,0,0,.22); overflow: visible; flex-shrink: 0; }
.dl-app.dl-dark .dl-toast { box-shadow: 0 8px 24px rgba(0,0,0,.7); border-color: var(--dl-border);
  border-left-color: var(--dl-primary); }
.dl-app .dl-toast.dl-toast-ok { border-left-color: var(--dl-ok); }
.dl-app .dl-toast.dl-toast-err { border-left-color: var(--dl-error); }
.dl-app .dl-toast.dl-toast-warn { border-left-color: var(--dl-warn); }
.dl-app .dl-toast-head { align-items: flex-start; gap: 6px; flex-wrap: nowrap; }
.dl-app .dl-toast-body { flex: 1 1 auto; min-width: 0; }
.dl-app .dl-toast-body .widget-html-content { white-space: normal; height: auto; line-height: 1.4;
  overflow-wrap: anywhere; }
.dl-app .dl-toast-title { font-weight: 700; font-size: 14px; margin-bottom: 2px; }
.dl-app .dl-toast-title-ok { color: var(--dl-ok); } .dl-app .dl-toast-title-err { color: var(--dl-error); }
.dl-app .dl-toast-title-warn { color: var(--dl-warn); }
.dl-app .dl-toast-text { font-size: 13px; color: var(--dl-text); }
.dl-app .dl-toast-detail { font-size: 12px; color: var(--dl-muted); margin-top: 4px; }
.dl-app .jupyter-button.dl-toast-close { background: transparent; box-shadow: none; color: var(--dl-muted);
  font-size: 18px; height: 26px; width: 26px; min-width: 26px; padding: 0; line-height: 1; }
.dl-app .jupyter-button.dl-toast-close:hover { color: var(--dl-text); background: var(--dl-surface-2); }
.dl-app .dl-toast .jupyter-button.dl-toast-action { height: 30px; font-size: 13px; align-self: flex-start; }
/* The page lost its kernel (static/presence.js): outside the App, above everything, until a reload. */
.dl-connection-lost { position: fixed; top: 0; left: 0; right: 0; z-index: 10000; display: flex; gap: 16px;
  align-items: center; justify-content: center; padding: 10px 16px; background: #b3141c; color: #fff;
  font: 600 14px system-ui, -apple-system, Segoe UI, Roboto, sans-serif; box-shadow: 0 2px 8px rgba(0,0,0,.3); }
/* ipywidgets marks every widget of a dead kernel with a broken-link icon; the banner says it once instead. */
.jupyter-widgets-disconnected::before { content: none !important; display: none !important; }
.dl-connection-lost .dl-connection-reload { background: #fff; color: #b3141c; border: 0; border-radius: 4px;
  padding: 6px 14px; font: inherit; cursor: pointer; }
.dl-app .dl-badge { display: inline-block; padding: 2px 9px; border-radius: 10px; font-size: 12px; font-weight: 600;
  white-space: nowrap; line-height: 18px; }
.dl-app .dl-b-ok { background: var(--dl-ok-soft); color: var(--dl-ok); }
.dl-app .dl-b-run { background: var(--dl-info-soft); color: var(--dl-info); }
.dl-app .dl-b-warn { background: var(--dl-warn-soft); color: var(--dl-warn); }
.dl-app .dl-b-err { background: var(--dl-error-soft); color: var(--dl-error); }
.dl-app .dl-b-idle { background: var(--dl-idle-soft); color: var(--dl-idle); }
.dl-app .dl-dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 8px; }
.dl-app .dl-dot-ok { background: var(--dl-ok); } .dl-app .dl-dot-err { background: var(--dl-error); }
.dl-app .dl-dot-idle { background: var(--dl-idle); }

/* buttons */
.dl-app .jupyter-button { border-radius: 6px; height: 34px; font-size: 14px; padding: 0 14px; width: auto; }
.dl-app .jupyter-button.mod-primary, .dl-app .jupyter-button.dl-primary { background: var(--dl-primary);
  color: var(--dl-on-primary); }
.dl-app .jupyter-button.mod-primary:hover:enabled, .dl-app .jupyter-button.dl-primary:hover:enabled {
  background: var(--dl-primary-hover); }
.dl-app .jupyter-button.mod-danger { background: transparent; color: var(--dl-error);
  border: 1px solid var(--dl-error); }
.dl-app .jupyter-button.mod-danger:hover:enabled { background: var(--dl-error-soft); }
.dl-app .jupyter-button:disabled { opacity: .45; }
.dl-app .jupyter-button.dl-small { height: 28px; font-size: 12px; padding: 0 10px; }
.dl-app .jupyter-button.dl-link { background: transparent; color: var(--dl-accent); padding: 0 4px; box-shadow: none;
  text-decoration: underline; }

.dl-app .widget-vbox > .jupyter-button { align-self: flex-start; }
.dl-app .jupyter-button:focus:not(:focus-visible) { outline: none; }
.dl-app .widget-toggle-buttons .jupyter-button.mod-active { background: var(--dl-primary);
  color: var(--dl-on-primary); }
.dl-app .dl-col { gap: 14px; overflow: visible; }
.dl-app .dl-tight { gap: 4px; align-items: center; flex-wrap: nowrap; }
.dl-app.dl-dark { color-scheme: dark; }

/* simple tables built from widgets */
.dl-app .dl-table { width: 100%; gap: 0; }
.dl-app .dl-tr { align-items: center; border-bottom: 1px solid var(--dl-border); padding: 6px 4px; gap: 8px;
  flex-wrap: nowrap; min-height: 44px; }
.dl-app .dl-tr:hover { background: var(--dl-surface-2); }
.dl-app .dl-th { border-bottom: 2px solid var(--dl-border); min-height: 32px; }
.dl-app .dl-th .widget-html-content { font-weight: 650; font-size: 12px; color: var(--dl-muted);
  text-transform: uppercase;
  letter-spacing: .5px; }
.dl-app .dl-td .widget-html-content { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
/* A long file name is cut inside its cell: it must not widen the row's text part and push the columns. */
.dl-app .dl-tr > .dl-td { min-width: 0; }
.dl-app .dl-cell { min-width: 0; flex: 0 0 auto; }
.dl-app .dl-cells { display: flex; align-items: center; width: 100%; }
.dl-app .dl-cell { display: inline-block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  padding-right: 8px; }
.dl-app table.dl-htable { width: 100%; border-collapse: collapse; font-size: 13px; }
.dl-app table.dl-htable th { text-align: left; color: var(--dl-muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .5px; border-bottom: 2px solid var(--dl-border); padding: 6px 8px; }
.dl-app table.dl-htable td { border-bottom: 1px solid var(--dl-border); padding: 6px 8px; vertical-align: top; }
.dl-app table.dl-htable td:first-child { white-space: nowrap; }
.dl-app table.dl-htable td.dl-wrap { white-space: normal; word-break: break-word; }

/* bars (tasks by status) */
.dl-app .dl-bars { display: grid; grid-template-columns: 150px 1fr 48px; gap: 6px 10px; align-items: center; }
.dl-app .dl-bar { height: 12px; border-radius: 6px; background: var(--dl-primary); min-width: 2px; }
.dl-app .dl-bar-track { background: var(--dl-surface-2); border-radius: 6px; }

/* progress */
.dl-app .widget-progress .progress { background: var(--dl-surface-2); border-radius: 6px; height: 12px; }
.dl-app .widget-progress .progress-bar { border-radius: 6px; }
.dl-app .widget-progress { height: 18px; align-items: center; }

/* tasks */
.dl-app .dl-task-list { width: 290px; min-width: 290px; gap: 6px; max-height: calc(100vh - 150px); overflow-y: auto; }
/* a long list scrolls inside the card: its rows keep their height instead of shrinking to fit */
.dl-app .dl-task-list > *, .dl-app .dl-task-items > * { flex-shrink: 0; }
.dl-app .dl-task-item { gap: 0; align-items: center; border-radius: 8px; padding: 4px 8px 4px 0;
  border: 1px solid transparent; flex-wrap: nowrap; }
.dl-app .dl-task-item .jupyter-button { flex: 1 1 auto; text-align: left; background: transparent; box-shadow: none;
  min-width: 0; overflow: hidden; text-overflow: ellipsis; color: var(--dl-text); padding: 0 8px; }
.dl-app .dl-task-item:hover { background: var(--dl-surface-2); }
.dl-app .dl-task-item.dl-active { background: var(--dl-accent-soft); border-color: var(--dl-primary); }
.dl-app .dl-task-detail { flex: 1 1 auto; min-width: 0; }
.dl-app .dl-step { align-items: center; gap: 10px; flex-wrap: nowrap; min-height: 30px; }
.dl-app .dl-step-icon .widget-html-content { width: 22px; text-align: center; font-weight: 700; font-size: 15px; }
.dl-app .dl-step-name { width: 210px; min-width: 210px; }
.dl-app .dl-step-name .widget-html-content { white-space: normal; height: auto; line-height: 1.3; }
/* A step's note wraps (what it did, how long it took, the time left): nothing of it is cut at 1280 px. */
.dl-app .dl-step-note { min-width: 0; flex: 1 1 auto; }
.dl-app .dl-step-note .widget-html-content { color: var(--dl-muted); font-size: 12px; white-space: normal;
  height: auto; line-height: 1.35; overflow-wrap: anywhere; }
.dl-app .dl-st-done .widget-html-content { color: var(--dl-ok); }
.dl-app .dl-st-running .widget-html-content { color: var(--dl-info); }
.dl-app .dl-st-failed .widget-html-content { color: var(--dl-error); }
.dl-app .dl-st-paused .widget-html-content, .dl-app .dl-st-stopped .widget-html-content { color: var(--dl-warn); }
.dl-app .dl-st-pending .widget-html-content { color: var(--dl-idle); }
.dl-app .dl-log { max-height: 320px; overflow-y: auto; font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
  font-size: 12px; background: var(--dl-surface-2); border-radius: 8px; padding: 8px 10px; }
.dl-app .dl-log .widget-html-content { white-space: normal; overflow-wrap: anywhere; height: auto; }
.dl-app .dl-log-line { padding: 2px 0; border-bottom: 1px dashed var(--dl-border); }
.dl-app .dl-log-time { color: var(--dl-muted); margin-right: 8px; }
.dl-app .dl-log-live { color: var(--dl-info); font-weight: 700; margin-right: 6px; }

/* uploader (anywidget) */
.dl-app .dl-uploader { display: flex; flex-direction: column; gap: 8px; padding: 18px;
  border: 2px dashed var(--dl-border);
  border-radius: 10px; background: var(--dl-surface); color: var(--dl-text); }
.dl-app .dl-uploader.dl-drag { border-color: var(--dl-primary); background: var(--dl-accent-soft); }
.dl-app .dl-uploader-row { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.dl-app .dl-uploader-pick { background: var(--dl-primary); color: #fff; border-radius: 6px; padding: 7px 14px;
  cursor: pointer; font-weight: 600; font-size: 14px; border: none; }
.dl-app .dl-uploader-pick[aria-disabled="true"] { opacity: .45; cursor: not-allowed; }
.dl-app .dl-uploader-cancel { background: transparent; color: var(--dl-error); border: 1px solid var(--dl-error);
  border-radius: 6px; padding: 6px 12px; cursor: pointer; font-size: 13px; }
.dl-app .dl-uploader-status { color: var(--dl-muted); font-size: 13px; }
.dl-app .dl-uploader-status:empty { display: none; }
.dl-app .dl-uploader-status.dl-error { color: var(--dl-error); font-weight: 600; }
.dl-app .dl-uploader-track { height: 8px; background: var(--dl-surface-2); border-radius: 4px; overflow: hidden; }
.dl-app .dl-uploader-fill { height: 100%; width: 0; background: var(--dl-primary); transition: width .15s; }
.dl-app .dl-downloader { font-size: 13px; color: var(--dl-muted); }

/* forms */
.dl-app .dl-form { gap: 8px; max-width: 560px; }
.dl-app .widget-text input, .dl-app .widget-password input, .dl-app .widget-dropdown select { border-radius: 6px; }
.dl-app .widget-text, .dl-app .widget-password { width: 100%; max-width: 520px; }
.dl-app .dl-chip { display: inline-block; padding: 1px 8px; margin: 2px 4px 2px 0; border-radius: 10px;
  font-size: 12px;
  background: var(--dl-surface-2); border: 1px solid var(--dl-border); }
.dl-app .dl-chip-missing { color: var(--dl-warn); border-color: var(--dl-warn); background: var(--dl-warn-soft); }
.dl-app .dl-chip-extra { color: var(--dl-info); border-color: var(--dl-info); background: var(--dl-info-soft); }

/* ipyaggrid in dark mode: invert the balham palette's surfaces */
.dl-app .dl-grid { width: 100%; }
.dl-app.dl-dark .ag-theme-balham { --ag-background-color: #1b1c20; --ag-foreground-color: #ececee;
  --ag-header-background-color: #26272c; --ag-header-foreground-color: #ececee;
  --ag-odd-row-background-color: #202126;
  --ag-border-color: #34353b; --ag-row-hover-color: #2c2d33; --ag-secondary-foreground-color: #a9abb3; }
.dl-app.dl-dark .ag-theme-balham .ag-root-wrapper, .dl-app.dl-dark .ag-theme-balham .ag-header,
.dl-app.dl-dark .ag-theme-balham .ag-row { background-color: #1b1c20; color: #ececee; border-color: #34353b; }
.dl-app.dl-dark .ag-theme-balham .ag-row-odd { background-color: #202126; }
.dl-app.dl-dark .ag-theme-balham .ag-header-cell-text { color: #ececee; }

/* admin views (users, logs, settings) */
.dl-app .dl-tabbed { gap: 14px; overflow: visible; }
.dl-app .dl-tabs.widget-toggle-buttons { border-bottom: 1px solid var(--dl-border); width: 100%; gap: 0; }
.dl-app .dl-tabs.widget-toggle-buttons .jupyter-button { background: transparent; color: var(--dl-muted);
  border-radius: 0; box-shadow: none; border: none; border-bottom: 3px solid transparent; margin: 0 6px -1px 0;
  height: 38px; padding: 0 16px; font-weight: 600; }
.dl-app .dl-tabs.widget-toggle-buttons .jupyter-button:hover { color: var(--dl-text);
  background: var(--dl-surface-2); }
.dl-app .dl-tabs.widget-toggle-buttons .jupyter-button.mod-active { background: transparent;
  color: var(--dl-accent); border-bottom-color: var(--dl-primary); }
.dl-app .dl-toolbar { align-items: center; gap: 10px; }
.dl-app .dl-toolbar .widget-text, .dl-app .dl-toolbar .widget-dropdown { margin: 0; }
.dl-app .dl-actions { flex-wrap: wrap; gap: 4px; justify-content: flex-end; }
.dl-app .dl-actions .jupyter-button { margin: 0; }
.dl-app .dl-th-right .widget-html-content { text-align: right; padding-right: 4px; }
.dl-app .dl-fields { gap: 12px; overflow: visible; }
.dl-app .dl-field { gap: 12px; align-items: flex-start; flex-wrap: nowrap; overflow: visible; }
.dl-app .dl-field-label { width: 170px; min-width: 170px; }
.dl-app .dl-field-label .widget-html-content { font-weight: 600; font-size: 13px; line-height: 32px;
  height: auto; }
.dl-app .dl-field-input { flex: 1 1 auto; min-width: 0; max-width: 600px; gap: 3px; overflow: visible; }
.dl-app .dl-field-input > .widget-text, .dl-app .dl-field-input > .widget-textarea,
.dl-app .dl-field-input > .widget-dropdown, .dl-app .dl-field-input > .widget-inline-hbox {
  width: 100%; max-width: none; margin: 0; }
/* Checkboxes, radios and ranges in the app's red instead of the browser's blue (both themes). */
.dl-app input[type=checkbox], .dl-app input[type=radio], .dl-app input[type=range] {
  accent-color: var(--dl-primary); }
.dl-app .dl-field-input > .widget-checkbox { width: auto; margin: 0; height: 32px; }
.dl-app .dl-field-input textarea { border-radius: 6px; font-family: inherit; font-size: 14px; }
.dl-app .widget-textarea textarea, .dl-app .widget-text input, .dl-app .widget-dropdown select,
.dl-app .widget-datepicker input { background: var(--dl-surface); color: var(--dl-text);
  border-color: var(--dl-border); }
.dl-app .dl-field-hint .widget-html-content, .dl-app .dl-field-error .widget-html-content { height: auto;
  white-space: normal; line-height: 1.35; font-size: 12px; }
.dl-app .dl-field-hint .widget-html-content { color: var(--dl-muted); }
.dl-app .dl-field-error .widget-html-content { color: var(--dl-error); font-weight: 600; }
.dl-app .dl-invalid input, .dl-app .dl-invalid textarea, .dl-app .dl-invalid select {
  border-color: var(--dl-error) !important; box-shadow: 0 0 0 1px var(--dl-error); }
.dl-app .dl-settings-form { max-width: 860px; gap: 14px; }
.dl-app .dl-inline-panel { margin: 10px 0 14px 0; border-left: 4px solid var(--dl-primary); gap: 12px; }
.dl-app .dl-danger-panel { background: var(--dl-error-soft); border-color: var(--dl-error); }
.dl-app .dl-danger-panel .widget-html-content { white-space: normal; height: auto; }
.dl-app .dl-confirm-bar { gap: 10px; }
.dl-app .dl-notice { background: var(--dl-warn-soft); border: 1px solid var(--dl-warn); border-radius: 8px;
  padding: 6px 12px; align-items: center; gap: 12px; flex-wrap: nowrap; }
.dl-app .dl-notice .widget-html-content { color: var(--dl-warn); }
.dl-app .dl-perm-grid { flex-wrap: wrap; gap: 8px 18px; overflow: visible; }
.dl-app .dl-perm { width: 260px; gap: 0; }
.dl-app .dl-perm .widget-checkbox { width: auto; height: 26px; margin: 0; }
.dl-app .dl-perm .widget-checkbox .widget-label-basic span { font-family: ui-monospace, SFMono-Regular, Menlo,
  monospace; font-size: 13px; }
.dl-app .dl-perm .dl-field-hint .widget-html-content { padding-left: 22px; }
.dl-app .dl-wrap-cell .widget-html-content { white-space: normal; height: auto; }
.dl-app .dl-user-row .dl-td .widget-html-content, .dl-app .dl-role-row .dl-td .widget-html-content,
.dl-app .dl-model-row .dl-td .widget-html-content { height: auto; line-height: 1.45; }
.dl-app .dl-model-row { align-items: stretch; gap: 4px; padding: 8px 4px; }
.dl-app .dl-check .widget-html-content { height: auto; white-space: normal; font-size: 12px; line-height: 1.4;
  padding: 6px 10px; border-radius: 6px; background: var(--dl-surface-2); }
.dl-app .dl-check-ok .widget-html-content { background: var(--dl-ok-soft); color: var(--dl-ok); }
.dl-app .dl-check-err .widget-html-content { background: var(--dl-error-soft); color: var(--dl-error); }
.dl-app .dl-check-error { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-word; }
.dl-app .dl-log-list .widget-html-content { height: auto; white-space: normal; }
.dl-app table.dl-log-table { table-layout: fixed; }
.dl-app table.dl-log-table td { overflow: hidden; text-overflow: ellipsis; }
.dl-app table.dl-log-table code { font-size: 12px; background: var(--dl-surface-2); padding: 1px 6px;
  border-radius: 4px; white-space: nowrap; }
.dl-app .dl-log-error { color: var(--dl-error); font-size: 12px; }
.dl-app .widget-datepicker .widget-label { min-width: 0; }
/* analysis */
.dl-app .dl-charts { overflow: visible; }
.dl-app .dl-chart { padding: 6px 8px; min-width: 0; overflow: hidden; }
.dl-app .dl-chart-wide { grid-column: 1 / -1; }
.dl-app .dl-plot { width: 100%; }
.dl-app .dl-plot .modebar { background: transparent !important; }
.dl-app.dl-dark .dl-plot .modebar-btn path { fill: #a9abb3 !important; }
.dl-app .dl-analysis-filters .widget-dropdown select, .dl-app .dl-analysis-filters .widget-datepicker input {
  border-radius: 6px; }
.dl-app .dl-dataset-select select { border-radius: 6px; background: var(--dl-surface); color: var(--dl-text);
  border: 1px solid var(--dl-border); padding: 4px; font-size: 14px; }
.dl-app .dl-dataset-select select option:checked { background: var(--dl-accent-soft); color: var(--dl-accent); }
.dl-app .dl-analysis-status .widget-html-content { white-space: normal; }
.dl-app .dl-chip-drill { background: var(--dl-accent-soft); color: var(--dl-accent); border-color: var(--dl-primary);
  font-weight: 600; font-size: 13px; }
.dl-app .dl-analysis-grid .ag-theme-balham .dl-cell-neg { color: var(--dl-error); }
.dl-app .dl-analysis-grid .ag-theme-balham .dl-cell-pos { color: var(--dl-ok); }
.dl-app .dl-analysis-grid .ag-theme-balham .dl-cell-corrected { color: var(--dl-warn); font-weight: 600; }
.dl-app .dl-analysis-grid .ag-theme-balham .ag-row-selected { background-color: var(--dl-accent-soft); }
.dl-app .dl-analysis-grid a.dl-tweet-link { color: var(--dl-accent); font-variant-numeric: tabular-nums; }
.dl-app .dl-selected .widget-html-content { white-space: normal; line-height: 1.5; }
.dl-app .dl-analysis-corrections table.dl-htable td:nth-child(4) { font-variant-numeric: tabular-nums; }
/* analysis: cross-filter chips, KPI comparison and glossary */
.dl-app .dl-chips { flex-wrap: wrap; gap: 6px; }
.dl-app .dl-chips .widget-button.dl-chip-button { background: var(--dl-accent-soft); color: var(--dl-accent);
  border: 1px solid var(--dl-primary); border-radius: 14px; font-weight: 600; font-size: 13px; height: 28px;
  padding: 0 12px; }
.dl-app .dl-kpi .dl-kpi-help { display: inline-block; width: 13px; height: 13px; line-height: 13px;
  border: 1px solid var(--dl-muted); border-radius: 50%; font-size: 9px; font-weight: 700; text-align: center;
  color: var(--dl-muted); vertical-align: 1px; margin-left: 2px; }
.dl-app .dl-kpi .dl-kpi-inner { cursor: help; }
.dl-app .dl-kpi .dl-kpi-change { font-size: 12px; font-weight: 600; margin-top: 2px; }
.dl-app .dl-kpi .dl-change-good { color: var(--dl-ok); }
.dl-app .dl-kpi .dl-change-bad { color: var(--dl-error); }
.dl-app .dl-kpi .dl-change-neutral { color: var(--dl-muted); }
.dl-app .dl-glossary .widget-html-content { white-space: normal; line-height: 1.45; }
.dl-app .dl-glossary dt { font-weight: 600; margin-top: 6px; }
.dl-app .dl-glossary dd { margin: 0 0 0 12px; color: var(--dl-muted); }
.dl-app .dl-glossary-button { align-self: flex-start; }
.dl-app .dl-share-link input { width: min(100%, 900px); font-size: 13px; padding: 4px 6px; margin-top: 6px;
  border: 1px solid var(--dl-border); border-radius: 6px; background: var(--dl-surface); color: var(--dl-text); }
/* analysis: terms */
.dl-app .dl-terms-line { gap: 8px; flex-wrap: wrap; padding: 2px 0; }
.dl-app .dl-terms-group { min-width: 120px; font-weight: 600; }
.dl-app .dl-terms-chips { flex-wrap: wrap; gap: 6px; }
.dl-app .widget-button.dl-term { background: var(--dl-surface-2); color: var(--dl-text); border: 1px solid
  var(--dl-border); border-radius: 14px; height: 26px; font-size: 13px; padding: 0 10px; }
.dl-app .widget-button.dl-term:hover { border-color: var(--dl-primary); color: var(--dl-accent); }
.dl-app .widget-button.dl-term.dl-term-chosen { background: var(--dl-accent-soft); color: var(--dl-accent);
  border-color: var(--dl-primary); font-weight: 600; }
/* analysis: table tools and the tweet side panel */
.dl-app .dl-columns { flex-wrap: wrap; gap: 4px 14px; padding: 4px 0; }
.dl-app .dl-bulk-bar { gap: 8px; padding: 6px 8px; background: var(--dl-accent-soft); border-radius: 6px; }
/* The tweet panel stays in the window wherever the page is scrolled. Voilà's shell scrolls the page inside
   Lumino panels whose `contain: strict` made the scrolled one the containing block of `position: fixed`: the
   panel sat at the top of the page's content, out of sight. While it is open the view makes room for it (wide
   windows), so it covers neither "Share this view" nor the table; below the navbar at the top of the page. */
body:has(.dl-app) .lm-BoxPanel, body:has(.dl-app) .lm-BoxPanel-child { contain: none !important; }
.dl-app .dl-tweet-panel { position: fixed; top: 64px; right: 12px; bottom: 12px; width: 420px;
  max-width: calc(100vw - 24px); overflow-y: auto; z-index: 40; box-shadow: 0 8px 28px rgba(0,0,0,.25);
  gap: 8px; }
@media (min-width: 1100px) {
  .dl-app .dl-view.dl-panel-open { padding-right: 432px; }
}
@media (max-width: 1439px) {
  .dl-app .dl-tweet-panel { width: 380px; }
}
@media (min-width: 1100px) and (max-width: 1439px) {
  .dl-app .dl-view.dl-panel-open { padding-right: 392px; }
}
.dl-app .dl-tweet-details .widget-html-content { white-space: normal; line-height: 1.45; }
.dl-app .dl-tweet-text { font-size: 15px; margin: 8px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.dl-app table.dl-tweet-labels { margin: 6px 0; border-collapse: collapse; }
.dl-app table.dl-tweet-labels th { text-align: left; padding: 2px 12px 2px 0; color: var(--dl-muted);
  font-weight: 500; }
.dl-app table.dl-tweet-labels td { padding: 2px 12px 2px 0; }
.dl-app .dl-thread { margin-top: 10px; }
.dl-app .dl-thread-title { font-weight: 600; margin-bottom: 4px; }
.dl-app .dl-thread-item { padding: 6px 8px; border-left: 3px solid var(--dl-border); margin-bottom: 6px;
  overflow-wrap: anywhere; }
.dl-app .dl-thread-reply { border-left-color: var(--dl-primary); }
.dl-app .dl-panel-form .widget-dropdown { max-width: 100%; }
.dl-app .dl-spike .widget-html-content { white-space: normal; line-height: 1.45; }
.dl-app table.dl-spike-table { border-collapse: collapse; margin: 8px 0; min-width: 60%; }
.dl-app table.dl-spike-table th { text-align: left; color: var(--dl-muted); font-weight: 500; padding: 2px 14px 2px 0; }
.dl-app table.dl-spike-table td { padding: 2px 14px 2px 0; border-top: 1px solid var(--dl-border); }
.dl-app .dl-spike-bar { display: inline-block; height: 9px; background: var(--dl-primary); border-radius: 2px;
  vertical-align: middle; }
"""

#: ipywidgets' dropdown arrow is a dark SVG; dark mode needs a light one.
_LIGHT_ARROW = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 18 18'>"
                "<path fill='%23ececee' d='M5.2 5.9L9 9.7l3.8-3.8L14 7.1l-5 5-5-5z'/></svg>")
CSS += f'.dl-app.dl-dark {{ --jp-widgets-dropdown-arrow: url("{_LIGHT_ARROW}"); }}\n'


def style_html() -> Markup:
    """The stylesheet as a ``<style>`` element (trusted: it is this module's constant, never user data)."""
    return fragment("<style>{{ css }}</style>", css=Markup(CSS))


def normalise_theme(value: str | None) -> Theme:
    """Unknown or missing preferences fall back to light (the schema default)."""
    return "dark" if value == "dark" else "light"
