// The wizard: columns follow the chosen dataset, labels follow the target,
// parameter fields follow the estimator.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("wizard");
  if (!form) return;
  var columns = JSON.parse(document.getElementById("wizard-columns").textContent);
  var estimators = JSON.parse(document.getElementById("wizard-estimators").textContent);
  var dataset = document.getElementById("id_dataset");
  var target = document.getElementById("id_target");
  var label = document.getElementById("id_positive_label");
  var estimator = document.getElementById("id_estimator");

  dataset.addEventListener("change", function () {
    // The columns belong to the dataset: reload the form for the new one.
    var url = new URL(window.location.href);
    url.searchParams.set("dataset", dataset.value);
    window.location.href = url.toString();
  });

  function fillLabels() {
    var col = columns.find(function (c) { return c.name === target.value; });
    var wanted = label.value || label.dataset.initial;
    label.replaceChildren();
    var cats = col ? col.categories : [];
    if (!cats.length) {
      label.appendChild(new Option("— numeric target: none —", ""));
    }
    cats.forEach(function (c) { label.appendChild(new Option(c, c, false, c === wanted)); });
  }
  function showParams() {
    var used = estimators[estimator.value] || [];
    form.querySelectorAll("[data-param]").forEach(function (el) {
      el.hidden = used.indexOf(el.dataset.param) < 0;
    });
  }
  target.addEventListener("change", fillLabels);
  estimator.addEventListener("change", showParams);
  fillLabels();
  showParams();
});
