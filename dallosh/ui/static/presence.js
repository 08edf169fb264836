// The page's side of dallosh.ui.presence: a ping every `interval` seconds (the kernel answers "pong"), and a
// banner when the kernel stops answering (it died, or the connection to the server was lost): clicks would
// otherwise do nothing, silently. Reloading opens the same view again (the address bar follows the view).
const MISSED_BEFORE_BANNER = 2;

function showBanner(message) {
  if (document.getElementById("dl-connection-lost")) {
    return;
  }
  const banner = document.createElement("div");
  banner.id = "dl-connection-lost";
  banner.className = "dl-connection-lost";
  banner.setAttribute("role", "alert");
  const text = document.createElement("span");
  text.textContent = message;
  const reload = document.createElement("button");
  reload.type = "button";
  reload.className = "dl-connection-reload";
  reload.textContent = "Reload the page";
  reload.addEventListener("click", () => window.location.reload());
  banner.append(text, reload);
  document.body.appendChild(banner);
}

function render({ model }) {
  let unanswered = 0;
  let answered = 0;
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "pong") {
      unanswered = 0;
      answered += 1;
      document.body.dataset.dlPongs = String(answered);  // for tests and support: the kernel is answering
    }
  });
  const ping = () => {
    if (unanswered >= MISSED_BEFORE_BANNER) {
      showBanner("The connection to the dashboard was lost: buttons and filters no longer answer. Reload the " +
                 "page to continue; it opens this view again.");
      return;
    }
    try {
      model.send({ type: "ping" });
      unanswered += 1;
    } catch (error) {
      showBanner("The dashboard stopped (its server restarted or was shut down). Reload the page to continue; " +
                 "it opens this view again.");
    }
  };
  ping();
  const timer = setInterval(ping, model.get("interval") * 1000);
  return () => clearInterval(timer);
}

export default { render };
