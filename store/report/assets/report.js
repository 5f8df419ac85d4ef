// newsdedup HTML report: optional niceties; everything works with scripts off too.
(function () {
  "use strict";
  function openTo(el) {
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
  }
  function followHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) { return; }
    openTo(el);
    var target = el.querySelector(":scope > summary") || el;
    target.focus({ preventScroll: true });
    el.scrollIntoView({ block: "start" });
  }
  window.addEventListener("hashchange", followHash);
  followHash();

  function setAll(open) {
    document.querySelectorAll("details.cluster").forEach(function (d) { d.open = open; });
  }
  var expand = document.getElementById("expand-all");
  var collapse = document.getElementById("collapse-all");
  if (expand) { expand.addEventListener("click", function () { setAll(true); }); }
  if (collapse) { collapse.addEventListener("click", function () { setAll(false); }); }

  var filter = document.getElementById("filter");
  if (filter) {
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      var shown = 0;
      document.querySelectorAll("details.cluster").forEach(function (d) {
        var hit = !q || d.getAttribute("data-search").indexOf(q) !== -1;
        d.classList.toggle("hidden", !hit);
        if (hit) { shown += 1; }
      });
      var out = document.getElementById("filter-count");
      if (out) { out.textContent = q ? shown + " shown" : ""; }
    });
  }

  // Printing a closed <details> prints only its summary: open the stories for paper.
  var reopened = [];
  window.addEventListener("beforeprint", function () {
    reopened = [];
    document.querySelectorAll("details.cluster:not([open])").forEach(function (d) {
      d.open = true; reopened.push(d);
    });
  });
  window.addEventListener("afterprint", function () {
    reopened.forEach(function (d) { d.open = false; });
  });
})();
