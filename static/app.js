// Latchkey dashboard: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Copy-to-clipboard: <button data-copy="text"> copies its value and confirms briefly.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn || !navigator.clipboard) return;
    ev.preventDefault();
    navigator.clipboard.writeText(btn.getAttribute("data-copy")).then(function () {
      var label = btn.querySelector("[data-copy-label]") || btn;
      var old = label.textContent;
      label.textContent = "Copied";
      btn.setAttribute("aria-live", "polite");
      setTimeout(function () { label.textContent = old; }, 1500);
    }, function () { /* clipboard refused (e.g. insecure context): the text stays selectable */ });
  });

  // <select data-autosubmit> submits its form when changed (the no-JS form has a button instead).
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) el.form.requestSubmit(); else el.form.submit();
    }
  });

  // <input data-filter> inside [data-checklist] hides the list's entries whose label does not
  // contain the typed text (checked entries stay posted: hiding is only visual).
  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (!el.matches || !el.matches("input[data-filter]")) return;
    var list = el.closest("[data-checklist]");
    if (!list) return;
    var q = el.value.trim().toLowerCase();
    list.querySelectorAll("[data-filter-item]").forEach(function (item) {
      var hit = q === "" || item.getAttribute("data-filter-item").toLowerCase().indexOf(q) >= 0;
      item.classList.toggle("hidden", !hit);
    });
  });

  // Close an open <details> menu with Escape or a click elsewhere.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) s.focus();
    });
  });
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.removeAttribute("open");
    });
  });
})();
