const KEY = "__dalloshPlotly";
function loadPlotly(model) {
  if (globalThis.Plotly && globalThis.Plotly.react) return Promise.resolve(globalThis.Plotly);
  if (!globalThis[KEY]) {
    globalThis[KEY] = new Promise((resolve, reject) => {
      const onMessage = (msg, buffers) => {
        if (!msg || msg.type !== "plotly-js") return;
        model.off("msg:custom", onMessage);
        const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => { URL.revokeObjectURL(url); resolve(globalThis.Plotly); };
        script.onerror = () => { URL.revokeObjectURL(url); delete globalThis[KEY]; reject(new Error("plotly.js")); };
        document.head.appendChild(script);
      };
      model.on("msg:custom", onMessage);
      model.send({ type: "need-plotly-js" });
    });
  }
  return globalThis[KEY];
}
async function render({ model, el }) {
  el.classList.add("dl-plot");
  el.style.minHeight = (model.get("height") || 300) + "px";
  const Plotly = await loadPlotly(model);
  let drawn = null;
  const draw = () => {
    const spec = JSON.parse(model.get("spec") || "{}");
    drawn = Plotly.react(el, spec.data || [], spec.layout || {}, model.get("config"));
    return drawn;
  };
  await draw();
  el.on("plotly_click", (event) => {
    const p = event && event.points && event.points[0];
    if (!p) return;
    const point = p.pointNumber !== undefined ? p.pointNumber : (p.pointNumbers || [0])[0];
    model.send({ type: "click", curve: p.curveNumber, point: point });
  });
  model.on("change:spec", draw);
  const resize = new ResizeObserver(() => { if (el.offsetParent !== null) Plotly.Plots.resize(el); });
  resize.observe(el);
  return () => { resize.disconnect(); model.off("change:spec", draw); Plotly.purge(el); };
}
export default { render };
