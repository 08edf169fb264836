// Runs after the last cell's output is in the page (Voilà's inline "window.voila_finish()", as a file).
window.voila_finish();
