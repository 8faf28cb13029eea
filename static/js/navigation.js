// The main navigation folds behind a Menu button at phone width (static/css/app.css, "overview and navigation").
// Loaded right after the header so that the navigation is folded before the page is first drawn; without this
// script the navigation simply stays open.
(function () {
  var bar = document.querySelector(".topbar");
  var button = bar && bar.querySelector(".navtoggle");
  if (!button) return;
  bar.classList.add("nav-collapsible");
  button.addEventListener("click", function () {
    var open = bar.classList.toggle("nav-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
