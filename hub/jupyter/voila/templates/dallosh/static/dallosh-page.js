// Voilà's page helpers, served as a file instead of inline <script>s so that the page's Content-Security-Policy
// can refuse every inline script (an injected one included). Same behaviour as Voilà 0.5's
// voila_setup_helper_functions(), minus the "Executing N of M" text (the dashboards show their own loader).
window.voila_heartbeat = function () {};
window.update_loading_text = function () {
  const spinner = document.getElementById("loading");
  if (spinner && spinner.style.display === "none") {
    spinner.style.display = "flex";
  }
};
window.display_cells = function () {
  if (!window.themeLoaded) {
    window.cellLoaded = true;
    return;
  }
  const loading = document.getElementById("loading");
  if (loading) {
    loading.parentNode.removeChild(loading);
  }
  const cells = document.getElementById("rendered_cells");
  if (cells) {
    cells.style.display = "";
  }
};
window.voila_process = window.update_loading_text;
window.voila_finish = window.display_cells;
