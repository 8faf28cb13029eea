// Gantt-style chart of the steps' timings on the run page; redrawn after each live refresh.
function drawTimeline() {
  var holder = document.getElementById("timeline");
  var data = document.getElementById("timeline-data");
  if (!holder || !data || typeof Plotly === "undefined" || typeof charts === "undefined") return;
  var steps = JSON.parse(data.textContent);
  var traces = steps.map(function (s) {
    var start = new Date(s.start), end = new Date(s.end);
    // The step's name is data: escaped for Plotly, and never part of the hover template itself.
    var name = asText.plotly(s.name);
    return {type: "bar", orientation: "h", y: [name], x: [Math.max(end - start, 50)], base: [s.start],
            marker: {color: charts.state(s.status)}, name: name, showlegend: false,
            customdata: [((end - start) / 1000).toFixed(1) + " s, " + s.status.replace("_", " ")],
            hovertemplate: "%{y}: %{customdata}<extra></extra>"};
  });
  charts.draw(holder, traces, charts.layout("", {height: 70 + 26 * steps.length, showlegend: false,
    xaxis: charts.timeAxis(), yaxis: {autorange: "reversed", automargin: true, type: "category"},
    barmode: "overlay"}));
}
document.addEventListener("DOMContentLoaded", drawTimeline);
document.addEventListener("htmx:afterSwap", drawTimeline);
document.addEventListener("run-finished", function () {
  var live = document.getElementById("live");
  if (live) { live.removeAttribute("hx-trigger"); htmx.process(live); }
});
