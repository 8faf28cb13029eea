// The look every chart shares, loaded after plotly.js and as_text.js on every page with charts (and inlined into
// the downloadable evidence report): one colour per role, so that a version or an arm has the same colour on every
// page; axes that fit their data; labels never cut off (automargin); the legend under the chart, clear of the data;
// and a sentence, not a lone dot, where a line has fewer than two points.
var charts = (function () {
  // Okabe–Ito colours: told apart with the common colour-vision deficiencies, and on white.
  var roles = {
    primary: "#0072b2", serving: "#0072b2", current: "#0072b2", now: "#0072b2",
    canary: "#e69f00", candidate: "#e69f00",
    shadow: "#cc79a7",
    reference: "#7f7f7f"  // the training data or the test split: what the present is measured against
  };
  // States and drift levels take the page's own colours (app.css, "states and accessibility"), so that a failed
  // step is the red of the failed badge beside it; the values after them are for a page without app.css.
  var states = {
    pending: ["--mlops-neutral", "#5c6773"], queued: ["--mlops-neutral", "#5c6773"],
    waiting_approval: ["--mlops-warn", "#975a16"], running: ["--mlops-running", "#0a66a8"],
    succeeded: ["--mlops-ok", "#1a7f45"], failed: ["--mlops-bad", "#b3261e"],
    cancelled: ["--mlops-muted-fg", "#adb5bd"], skipped: ["--mlops-muted-fg", "#adb5bd"],
    ok: ["--mlops-ok", "#1a7f45"], warn: ["--mlops-warn", "#975a16"], alert: ["--mlops-bad", "#b3261e"]
  };
  // Groups, metrics and percentiles: in this order, whatever the page.
  var series = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7f7f7f", "#000000"];
  var config = {displayModeBar: false, responsive: true};

  function colour(role) { return roles[role] || state(role); }
  function state(name) {
    var pair = states[name];
    if (!pair) return roles.reference;
    var value = getComputedStyle(document.documentElement).getPropertyValue(pair[0]).trim();
    return value || pair[1];
  }
  function group(i) { return series[i % series.length]; }

  // A shallow merge that also merges the axes, legend and margin, so that a chart changes one setting of them.
  function merge(base, extra) {
    var out = Object.assign({}, base);
    Object.keys(extra || {}).forEach(function (key) {
      var value = extra[key];
      var nested = value && typeof value === "object" && !Array.isArray(value) && base[key] && typeof base[key] === "object";
      out[key] = nested ? Object.assign({}, base[key], value) : value;
    });
    return out;
  }

  // title is Plotly text: escape data in it with asText.plotly first.
  function layout(title, extra) {
    return merge({
      title: {text: title || "", font: {size: 14}, x: 0, xanchor: "left", xref: "paper"},
      height: 300, margin: {l: 10, r: 10, t: title ? 40 : 10, b: 10, pad: 2},
      font: {family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#373c44"},
      xaxis: {automargin: true}, yaxis: {automargin: true},
      // Under the x axis and its title, whatever their height.
      legend: {orientation: "h", yref: "container", y: 0, yanchor: "bottom", x: 0, xanchor: "left"},
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", hoverlabel: {namelength: -1}
    }, extra);
  }

  function title(text, extra) { return Object.assign({title: {text: text}}, extra || {}); }

  // Counts: from zero, whole numbers only (below ten, a tick at each).
  function countAxis(text, values) {
    var max = Math.max.apply(null, (values || []).filter(isFinite).concat([0]));
    var axis = title(text, {rangemode: "tozero", tickformat: ",d", automargin: true});
    if (max < 10) { axis.dtick = 1; axis.tick0 = 0; }
    return axis;
  }

  // Shares and rates: within 0–1, shown as percentages.
  function rateAxis(text) {
    return title(text, {rangemode: "tozero", tickformat: ".2~p", automargin: true,
                        autorangeoptions: {minallowed: 0, maxallowed: 1}});
  }

  // Scores that live between 0 and 1 (accuracy, ROC AUC, a rate on a curve): the whole range, always.
  function unitAxis(text) { return title(text, {range: [0, 1.02], automargin: true}); }

  // Time: a few ticks, so that dates stay level on a narrow chart.
  function timeAxis() {
    return {type: "date", automargin: true, nticks: 4, tickangle: 0, tickformatstops: [
      {dtickrange: [null, 86400000], value: "%H:%M\n%b %-d"}, {dtickrange: [86400000, null], value: "%b %-d"}]};
  }

  // Counts in a grid (confusion matrices): white to the primary's blue, the count written in each cell.
  var countScale = [[0, "#f4f8fc"], [1, "#08467a"]];

  // Non-negative measures (latency, PSI): from zero.
  function fromZeroAxis(text) { return title(text, {rangemode: "tozero", automargin: true}); }

  // Draws, or redraws, into a box that may hold the sentence of an earlier drawing.
  function draw(target, traces, chartLayout) {
    var el = typeof target === "string" ? document.getElementById(target) : target;
    if (!el) return;
    if (el.dataset.tooFew) {
      el.replaceChildren();
      delete el.dataset.tooFew;
      el.setAttribute("role", "img");
    }
    Plotly.react(el, traces, chartLayout, config);
  }

  // A sentence in place of a chart that would be one dot on an axis spanning nothing.
  function tooFew(target, why) {
    var el = typeof target === "string" ? document.getElementById(target) : target;
    if (!el) return;
    if (el.classList.contains("js-plotly-plot")) Plotly.purge(el);
    el.dataset.tooFew = "1";
    el.removeAttribute("role");  // the sentence is read as it is, not as the picture's label
    asText.fill(el, [asText.el("p", {class: "chart-too-few"}, "Not enough history yet: " + why)]);
  }

  // A line chart of ``points`` with fewer than two points of data is a sentence instead.
  function drawLine(target, traces, chartLayout, points, why) {
    if (points < 2) tooFew(target, why); else draw(target, traces, chartLayout);
  }

  // Dotted vertical lines at deployments and rollbacks on a time axis.
  function eventLines(events) {
    return (events || []).map(function (e) {
      return {type: "line", xref: "x", yref: "paper", x0: e.t, x1: e.t, y0: 0, y1: 1,
              line: {dash: "dot", width: 1, color: e.action === "rollback" ? state("alert") : "#888"}};
    });
  }

  // Horizontal dashed lines at the warn and alert thresholds.
  function thresholdLines(limits) {
    return [{type: "line", xref: "paper", x0: 0, x1: 1, y0: limits[0], y1: limits[0], line: {dash: "dash", color: state("warn")}},
            {type: "line", xref: "paper", x0: 0, x1: 1, y0: limits[1], y1: limits[1], line: {dash: "dash", color: state("alert")}}];
  }

  return {colour: colour, state: state, group: group, config: config, layout: layout, countAxis: countAxis, rateAxis: rateAxis,
          unitAxis: unitAxis, fromZeroAxis: fromZeroAxis, timeAxis: timeAxis, countScale: countScale, draw: draw, tooFew: tooFew, drawLine: drawLine,
          eventLines: eventLines, thresholdLines: thresholdLines};
})();
