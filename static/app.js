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

  // Zone pickers ([data-zone-picker], web/zonepicker.templ). htmx asks the server for a page of
  // the zones whose names start with what was typed (as q) and swaps it into the results box;
  // this script makes that box the search box's combobox list: arrow keys move through the
  // matches (aria-activedescendant), Enter or a click adds the zone as a ticked chip, Escape
  // closes the list, and unticking a chip removes it. Without JavaScript the search box is a
  // plain field for zone names, which the server resolves when the form is sent.
  function picker(el) { return el && el.closest ? el.closest("[data-zone-picker]") : null; }
  function zpSearch(pk) { return pk.querySelector("[data-zone-search]"); }
  function zpResults(pk) { return pk.querySelector("[data-zone-results]"); }
  function zpOptions(pk) { return Array.prototype.slice.call(zpResults(pk).querySelectorAll("[role=option]")); }
  function zpAnnounce(pk, msg) { pk.querySelector("[data-zone-status]").textContent = msg; }
  function zpOpen(pk, open) {
    var input = zpSearch(pk);
    zpResults(pk).classList.toggle("hidden", !open);
    input.setAttribute("aria-expanded", open && zpOptions(pk).length > 0 ? "true" : "false");
    if (!open) input.removeAttribute("aria-activedescendant");
  }
  function zpActive(pk) {
    return zpOptions(pk).findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }
  function zpActivate(pk, i) {
    var opts = zpOptions(pk), input = zpSearch(pk);
    opts.forEach(function (o, j) { o.setAttribute("aria-selected", j === i ? "true" : "false"); });
    if (opts[i]) {
      input.setAttribute("aria-activedescendant", opts[i].id);
      opts[i].scrollIntoView({ block: "nearest" });
    }
  }
  function zpChoose(pk, opt) {
    var id = opt.getAttribute("data-zone-id"), name = opt.getAttribute("data-zone-name");
    var input = zpSearch(pk), chips = pk.querySelector("ul.zone-chips");
    var have = null;
    chips.querySelectorAll("input[type=checkbox]").forEach(function (b) { if (b.value === id) have = b; });
    if (pk.hasAttribute("data-single")) {
      chips.querySelectorAll("[data-zone-chip]").forEach(function (c) { if (!have || !c.contains(have)) c.remove(); });
    }
    if (have) {
      have.checked = true;
    } else {
      var chip = pk.querySelector("template[data-chip-template]").content.firstElementChild.cloneNode(true);
      var box = chip.querySelector("input"), label = chip.querySelector("[data-chip-label]");
      box.id = chips.id + "-" + id;
      box.name = pk.getAttribute("data-field");
      box.value = id;
      box.checked = true;
      label.htmlFor = box.id;
      label.textContent = name;
      chips.appendChild(chip);
    }
    chips.classList.add("mt-1");
    input.value = "";
    zpOpen(pk, false);
    zpResults(pk).innerHTML = "";
    zpAnnounce(pk, "Added " + name + ".");
    input.focus();
    if (pk.hasAttribute("data-autosubmit-pick") && input.form) {
      if (input.form.requestSubmit) input.form.requestSubmit(); else input.form.submit();
    }
  }
  // The search is sent as q, whatever the field's no-JavaScript name.
  document.addEventListener("htmx:configRequest", function (ev) {
    var el = ev.detail.elt;
    if (!el.matches || !el.matches("[data-zone-search]")) return;
    var params = ev.detail.parameters;
    delete params[el.name];
    params.q = el.value;
  });
  document.addEventListener("htmx:afterSwap", function (ev) {
    var res = ev.detail.target, pk = picker(res);
    if (!pk || !res.matches("[data-zone-results]")) return;
    var opts = zpOptions(pk);
    var list = res.querySelector("[role=listbox]");
    if (list) {
      list.id = res.id + "-list";
      zpSearch(pk).setAttribute("aria-controls", list.id);
    }
    opts.forEach(function (o, i) { o.id = res.id + "-" + i; });
    zpOpen(pk, document.activeElement === zpSearch(pk) || pk.contains(document.activeElement));
    var msg = res.querySelector("[data-zone-message]");
    zpAnnounce(pk, opts.length ? opts.length + (opts.length === 1 ? " zone" : " zones") + " found." + (msg ? " " + msg.textContent : "") : (msg ? msg.textContent : ""));
  });
  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (!el.matches || !el.matches("[data-zone-search]")) return;
    var pk = picker(el), opts = zpOptions(pk), open = !zpResults(pk).classList.contains("hidden");
    var i = zpActive(pk);
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      if (!opts.length) return;
      ev.preventDefault();
      zpOpen(pk, true);
      if (ev.key === "ArrowDown") zpActivate(pk, i < 0 ? 0 : Math.min(i + 1, opts.length - 1));
      else zpActivate(pk, i <= 0 ? opts.length - 1 : i - 1);
    } else if (ev.key === "Enter") {
      // Enter chooses; it never sends the form from the search box (whose first submit button
      // may be a row's Remove).
      ev.preventDefault();
      if (open && i >= 0) zpChoose(pk, opts[i]);
    } else if (ev.key === "Escape" && open) {
      ev.preventDefault();
      ev.stopPropagation();
      zpOpen(pk, false);
    }
  }, true);
  document.addEventListener("keypress", function (ev) {
    if (ev.key === "Enter" && ev.target.matches && ev.target.matches("[data-zone-search]")) ev.preventDefault();
  }, true);
  document.addEventListener("click", function (ev) {
    var opt = ev.target.closest && ev.target.closest("[data-zone-results] [role=option]");
    if (opt) {
      ev.preventDefault();
      zpChoose(picker(opt), opt);
    }
  });
  document.addEventListener("focusout", function (ev) {
    var pk = picker(ev.target);
    if (pk && !pk.contains(ev.relatedTarget)) zpOpen(pk, false);
  });
  document.addEventListener("focusin", function (ev) {
    var pk = picker(ev.target);
    if (pk && ev.target.matches("[data-zone-search]") && ev.target.value && zpResults(pk).children.length) zpOpen(pk, true);
  });
  // Unticking a chip removes it (without JavaScript it is simply not sent).
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (!box.matches || !box.matches("[data-zone-chip] input[type=checkbox]") || box.checked) return;
    var pk = picker(box), chip = box.closest("[data-zone-chip]");
    var name = chip.querySelector("[data-chip-label]").textContent;
    chip.remove();
    zpAnnounce(pk, "Removed " + name + ".");
    zpSearch(pk).focus();
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
