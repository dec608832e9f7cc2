// Service desk behaviours (no inline scripts): live wait times, the hand-off fields of the
// finish form, and Enter in the client lookup searching instead of checking in.
(function () {
  "use strict";

  const TICK_MS = 15000;

  function updateWaits() {
    document.querySelectorAll("[data-waiting-since]").forEach((node) => {
      const since = Date.parse(node.dataset.waitingSince);
      if (Number.isNaN(since)) {
        return;
      }
      const minutes = Math.max(0, Math.floor((Date.now() - since) / 60000));
      const holder = node.closest("[data-msg-minutes]");
      const label = holder ? holder.dataset.msgMinutes : "{count} min";
      node.textContent = label.replace("{count}", String(minutes));
    });
  }

  function showHandOffFields(form) {
    const chosen = form.querySelector("input[name=hand_off]:checked");
    const value = chosen ? chosen.value : "none";
    form.querySelectorAll("[data-hand-off-fields]").forEach((group) => {
      group.hidden = group.dataset.handOffFields !== value;
    });
  }

  document.addEventListener("change", (event) => {
    const form = event.target.closest("[data-hand-off-form]");
    if (form && event.target.name === "hand_off") {
      showHandOffFields(form);
    }
  });

  document.addEventListener("keydown", (event) => {
    const lookup = event.target.closest("[data-lookup]");
    if (lookup && event.key === "Enter") {
      event.preventDefault();
      if (window.htmx) {
        window.htmx.trigger(lookup, "search");
      }
    }
  });

  // A visitor picked from the lookup is not also a "new visitor".
  document.addEventListener("change", (event) => {
    if (event.target.name === "party" && event.target.checked) {
      const form = event.target.form;
      ["visitor_name", "visitor_phone"].forEach((name) => {
        const field = form.querySelector("[name=" + name + "]");
        if (field) {
          field.value = "";
        }
      });
    }
  });

  // ... and a new visitor typed in is not the client picked before.
  document.addEventListener("input", (event) => {
    if (event.target.name === "visitor_name" && event.target.value) {
      event.target.form.querySelectorAll("input[name=party]").forEach((radio) => {
        radio.checked = false;
      });
    }
  });

  document.addEventListener("htmx:afterSwap", updateWaits);

  function start() {
    document.querySelectorAll("[data-hand-off-form]").forEach(showHandOffFields);
    updateWaits();
    window.setInterval(updateWaits, TICK_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
