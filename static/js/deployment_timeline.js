// Deployment history: the primary version as a step line over time, canary and shadow changes as markers.
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("timeline-data");
  if (!node || typeof Plotly === "undefined" || typeof charts === "undefined") return;
  var events = JSON.parse(node.textContent);
  if (!events.length) return;
  var primaryActions = {deploy: 1, promote_canary: 1, rollback: 1};
  var t = [], v = [], text = [];
  events.forEach(function (e) {
    if (primaryActions[e.action]) { t.push(e.t); v.push(e.version); text.push(asText.plotly(e.action + " by " + e.actor)); }
  });
  if (t.length) { t.push(new Date().toISOString()); v.push(v[v.length - 1]); text.push("now"); }
  var others = events.filter(function (e) { return !primaryActions[e.action]; });
  var traces = [{x: t, y: v, text: text, mode: "lines+markers", line: {shape: "hv", color: charts.colour("primary")}, name: "primary",
                 hovertemplate: "v%{y}<br>%{text}<br>%{x}<extra></extra>"}];
  if (others.length) {
    traces.push({x: others.map(function (e) { return e.t; }), y: others.map(function (e) { return e.version; }),
                 text: others.map(function (e) { return asText.plotly(e.action + " by " + e.actor); }), mode: "markers",
                 marker: {symbol: "diamond", size: 10, color: others.map(function (e) {
                   return charts.colour(/shadow/.test(e.action) ? "shadow" : "canary");
                 })}, name: "canary / shadow",
                 hovertemplate: "v%{y}<br>%{text}<br>%{x}<extra></extra>"});
  }
  // Versions are whole numbers: one tick each, from the first.
  charts.draw("deployment-timeline", traces, charts.layout("", {height: 280,
    xaxis: charts.timeAxis(),
    yaxis: {title: {text: "version"}, dtick: 1, tickformat: "d", tickprefix: "v", rangemode: "tozero", automargin: true}}));
});
