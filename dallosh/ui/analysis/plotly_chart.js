const KEY = "__dalloshPlotly";
// Resolves once the browser painted what it holds now (the next frame, then the task after it).
const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
const hasFigure = (model) => (model.get("spec") || "{}") !== "{}";
const firstFigure = (model) => new Promise((resolve) => {
  if (hasFigure(model)) return resolve();
  const arrived = () => { if (hasFigure(model)) { model.off("change:spec", arrived); resolve(); } };
  model.on("change:spec", arrived);
});

// plotly.js, asked of the kernel once per page by the first chart rendered (its bytes arrive while the kernel
// computes the figures), and run once: running it takes the page's thread for ~0.3 s.
function loadPlotly(model) {
  if (globalThis.Plotly && globalThis.Plotly.react) return { run: () => Promise.resolve(globalThis.Plotly) };
  if (!globalThis[KEY]) {
    const bytes = new Promise((resolve) => {
      const onMessage = (msg, buffers) => {
        if (!msg || msg.type !== "plotly-js") return;
        model.off("msg:custom", onMessage);
        resolve(buffers[0]);
      };
      model.on("msg:custom", onMessage);
      model.send({ type: "need-plotly-js" });
    });
    let ran = null;
    const run = () => ran || (ran = bytes.then((buffer) => new Promise((resolve, reject) => {
      const url = URL.createObjectURL(new Blob([buffer], { type: "text/javascript" }));
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => { URL.revokeObjectURL(url); resolve(globalThis.Plotly); };
      script.onerror = () => { URL.revokeObjectURL(url); delete globalThis[KEY]; reject(new Error("plotly.js")); };
      document.head.appendChild(script);
    })));
    globalThis[KEY] = { run };
  }
  return globalThis[KEY];
}
async function render({ model, el }) {
  el.classList.add("dl-plot");
  el.style.minHeight = (model.get("height") || 300) + "px";
  const plotly = loadPlotly(model);
  // plotly.js runs once a chart has a figure and the browser painted what came with it: the KPI cards and the
  // chips show first, the charts right after.
  await firstFigure(model);
  await afterPaint();
  const Plotly = await plotly.run();
  let drawn = null;
  const draw = () => {
    const spec = JSON.parse(model.get("spec") || "{}");
    drawn = Plotly.react(el, spec.data || [], spec.layout || {}, model.get("config"));
    return drawn;
  };
  await draw();
  // A new figure is drawn after the browser painted what arrived with it (the KPI cards, the chips): drawing
  // a chart takes the page's only thread for ~0.1 s, ten of them held the numbers back. Only the latest
  // figure is drawn.
  let scheduled = false;
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    afterPaint().then(() => { scheduled = false; draw(); });
  };
  el.on("plotly_click", (event) => {
    const p = event && event.points && event.points[0];
    if (!p) return;
    const point = p.pointNumber !== undefined ? p.pointNumber : (p.pointNumbers || [0])[0];
    model.send({ type: "click", curve: p.curveNumber, point: point });
  });
  model.on("change:spec", redraw);
  const resize = new ResizeObserver(() => { if (el.offsetParent !== null) Plotly.Plots.resize(el); });
  resize.observe(el);
  return () => { resize.disconnect(); model.off("change:spec", redraw); Plotly.purge(el); };
}
export default { render };
