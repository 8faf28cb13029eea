// Small per-column distribution charts on the dataset page (Plotly, served from static/).
document.addEventListener("DOMContentLoaded", function () {
  var data = JSON.parse(document.getElementById("profile-data").textContent);
  document.querySelectorAll(".mini-chart").forEach(function (el) {
    var col = data[el.dataset.column];
    if (!col) return;
    var trace;
    if (col.kind === "numeric" && col.histogram) {
      var edges = col.histogram.edges, mids = [];
      for (var i = 0; i < edges.length - 1; i++) mids.push((edges[i] + edges[i + 1]) / 2);
      trace = {type: "bar", x: mids, y: col.histogram.counts, marker: {color: "#3c71c7"},
               hovertemplate: "%{x:.3g}: %{y}<extra></extra>"};
    } else if (col.frequencies) {
      var keys = Object.keys(col.frequencies);
      trace = {type: "bar", x: keys.map(function (k) { return k === "__other__" ? "other" : asText.plotly(k); }),
               y: keys.map(function (k) { return col.frequencies[k]; }), marker: {color: "#7a5cc2"},
               hovertemplate: "%{x}: %{y}<extra></extra>"};
    } else { return; }
    Plotly.newPlot(el, [trace], {
      margin: {l: 4, r: 4, t: 4, b: 18}, height: 70, width: 220, bargap: 0.05,
      xaxis: {showticklabels: col.kind !== "numeric", tickfont: {size: 9}, fixedrange: true},
      yaxis: {visible: false, fixedrange: true}, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"
    }, {displayModeBar: false, responsive: false});
  });
});
