// Field forms that work without network (no inline scripts: the pages only carry data-* hooks).
//
// A form marked [data-offline-form] is sent with fetch. With no network it is kept in this
// phone's IndexedDB (fields and the photo as a Blob) and sent again when the phone is back
// online, on every page load and every 30 s. The server stores a submission once per
// client_uuid (generated here when the form is opened), so sending twice is harmless: 201/200
// and 409 ("already received") remove the saved copy; a refused one (4xx) is kept with its message.
(function () {
  "use strict";

  const DB_NAME = "mfi-field";
  const STORE = "outbox";
  const CACHE = "mfi-field-v1";
  const RESEND_EVERY_MS = 30000;

  const status = document.querySelector("[data-offline-status]");
  if (!status) {
    return;
  }
  const userId = status.dataset.offlineUser || "";

  function message(key, values) {
    let text = status.dataset["msg" + key] || "";
    Object.entries(values || {}).forEach(([name, value]) => {
      text = text.replace("{" + name + "}", String(value));
    });
    return text;
  }

  function show(kind, text) {
    status.className = "alert alert-" + kind;
    status.textContent = text;
    if (!text) {
      status.classList.add("d-none");
    }
  }

  // --- Submission ids -----------------------------------------------------------------------

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (let i = 0; i < 16; i += 1) {
        bytes[i] = Math.floor(Math.random() * 256);
      }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function freshForm(form) {
    const field = form.querySelector("[name=client_uuid]");
    if (field) {
      field.value = newUuid();
    }
    const when = form.querySelector("[name=occurred_at]");
    if (when) {
      when.value = "";
    }
  }

  // --- The outbox in IndexedDB ----------------------------------------------------------------

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  function inStore(mode, work) {
    return openDb().then(
      (db) =>
        new Promise((resolve, reject) => {
          const transaction = db.transaction(STORE, mode);
          const request = work(transaction.objectStore(STORE));
          transaction.oncomplete = () => {
            db.close();
            resolve(request ? request.result : undefined);
          };
          transaction.onerror = transaction.onabort = () => {
            db.close();
            reject(transaction.error);
          };
        }),
    );
  }

  const outbox = {
    all: () => inStore("readonly", (store) => store.getAll()).then((items) => items.filter((item) => item.user === userId)),
    add: (item) => inStore("readwrite", (store) => store.add(item)),
    put: (item) => inStore("readwrite", (store) => store.put(item)),
    remove: (id) => inStore("readwrite", (store) => store.delete(id)),
  };

  function entriesOf(form) {
    const entries = [];
    new FormData(form).forEach((value, name) => {
      if (value instanceof Blob) {
        if (value.size) {
          entries.push({ name, blob: value.slice(0, value.size, value.type), filename: value.name || "photo.jpg" });
        }
      } else {
        entries.push({ name, value });
      }
    });
    return entries;
  }

  function csrfToken(item) {
    // The page's own token first: a stored one is stale if the agent signed in again since.
    const stored = item.entries.find((entry) => entry.name === "csrfmiddlewaretoken");
    return status.dataset.csrfToken || (stored ? stored.value : "");
  }

  function send(item) {
    const token = csrfToken(item);
    const body = new FormData();
    item.entries.forEach((entry) => {
      if (entry.blob) {
        body.append(entry.name, entry.blob, entry.filename);
      } else {
        body.append(entry.name, entry.name === "csrfmiddlewaretoken" ? token : entry.value);
      }
    });
    return fetch(item.action, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest" },
    }).then((response) => {
      const isJson = (response.headers.get("Content-Type") || "").includes("application/json");
      const json = isJson && !response.redirected ? response.json().catch(() => null) : Promise.resolve(null);
      return json.then((data) => ({ response, data }));
    });
  }

  // "sent" and "duplicate" remove the saved copy; "refused" keeps it with its message;
  // "sign-in" and "later" keep it as it is.
  function verdict(result) {
    const { response, data } = result;
    if (!data) {
      if (response.status >= 500) {
        return "later";
      }
      // Sent to the sign-in page, or the CSRF check failed after signing in again.
      return response.redirected || response.status === 401 || response.status === 403 ? "sign-in" : "refused";
    }
    if (response.status === 200 || response.status === 201) {
      return "sent";
    }
    if (response.status === 409) {
      return "duplicate";
    }
    return response.status >= 500 ? "later" : "refused";
  }

  function errorText(data) {
    if (!data) {
      return "";
    }
    if (data.errors) {
      return Object.values(data.errors)
        .flat()
        .map((error) => error.message || error)
        .join(" ");
    }
    return data.detail || "";
  }

  // --- Sending the outbox ---------------------------------------------------------------------

  let flushing = false;

  async function showWaiting(sent) {
    const items = await outbox.all();
    if (!items.length) {
      show("success", sent ? message("Sent", { count: sent }) : "");
      return;
    }
    const refused = items.filter((item) => item.error && item.error !== "sign-in");
    if (items.some((item) => item.error === "sign-in")) {
      show("danger", message("SignIn", { count: items.length }));
    } else if (refused.length) {
      show("danger", refused.map((item) => message("Refused", { message: item.error })).join(" "));
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "btn btn-outline-danger d-block mt-2";
      discard.dataset.offlineDiscard = "";
      discard.dataset.testid = "discard-refused";
      discard.textContent = message("Discard", { count: refused.length });
      status.appendChild(discard);
    } else {
      show("warning", message("Waiting", { count: items.length }));
    }
  }

  async function flush() {
    if (flushing || !navigator.onLine) {
      return;
    }
    flushing = true;
    let sent = 0;
    try {
      for (const item of await outbox.all()) {
        let result;
        try {
          result = await send(item);
        } catch (networkError) {
          break; // offline again: try later
        }
        const outcome = verdict(result);
        if (outcome === "sent" || outcome === "duplicate") {
          await outbox.remove(item.id);
          sent += 1;
        } else if (outcome === "later") {
          break;
        } else {
          item.error = outcome === "sign-in" ? "sign-in" : errorText(result.data) || String(result.response.status);
          await outbox.put(item);
        }
      }
    } finally {
      flushing = false;
    }
    await showWaiting(sent);
  }

  // A refused form cannot be corrected on the phone: the agent may drop it and type it again.
  status.addEventListener("click", async (event) => {
    if (!event.target.closest("[data-offline-discard]")) {
      return;
    }
    for (const item of await outbox.all()) {
      if (item.error && item.error !== "sign-in") {
        await outbox.remove(item.id);
      }
    }
    await showWaiting(0);
  });

  // --- Submitting a form ----------------------------------------------------------------------

  function clearErrors(form) {
    form.querySelectorAll(".is-invalid").forEach((field) => field.classList.remove("is-invalid"));
    form.querySelectorAll("[data-js-error]").forEach((node) => node.remove());
    const box = form.querySelector("[data-form-errors]");
    if (box) {
      box.classList.add("d-none");
      box.textContent = "";
    }
  }

  function showErrors(form, errors) {
    const box = form.querySelector("[data-form-errors]");
    Object.entries(errors).forEach(([name, list]) => {
      const text = list.map((error) => error.message || error).join(" ");
      const fields = form.querySelectorAll('[name="' + name + '"]');
      const visible = Array.from(fields).filter((field) => field.type !== "hidden");
      if (visible.length) {
        visible.forEach((field) => field.classList.add("is-invalid"));
        const note = document.createElement("div");
        note.className = "text-danger small mt-1";
        note.dataset.jsError = name;
        note.textContent = text;
        const anchor = visible[visible.length - 1].closest(".mb-3, fieldset") || visible[visible.length - 1];
        anchor.appendChild(note);
      } else if (box) {
        const line = document.createElement("div");
        line.textContent = text;
        box.appendChild(line);
        box.classList.remove("d-none");
      }
    });
    show("danger", message("Errors"));
  }

  async function keep(form, item) {
    await outbox.add(item);
    form.reset();
    freshForm(form);
    const locationStatus = form.querySelector("[data-location-status]");
    if (locationStatus) {
      locationStatus.textContent = "";
    }
    const items = await outbox.all();
    show("warning", message("Saved", { count: items.length }));
    status.scrollIntoView({ block: "center" });
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("[data-offline-form]") || event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    const when = form.querySelector("[name=occurred_at]");
    if (when && !when.value) {
      when.value = new Date().toISOString();
    }
    const item = { action: form.action, entries: entriesOf(form), user: userId, savedAt: Date.now(), error: "" };
    const button = form.querySelector("[type=submit]");
    clearErrors(form);
    if (!navigator.onLine) {
      await keep(form, item);
      return;
    }
    if (button) {
      button.disabled = true;
    }
    try {
      let result;
      try {
        result = await send(item);
      } catch (networkError) {
        await keep(form, item);
        return;
      }
      const outcome = verdict(result);
      if (outcome === "sent") {
        window.location.assign(result.data.redirect || window.location.href);
      } else if (outcome === "duplicate") {
        form.reset();
        freshForm(form);
        show("info", result.data.detail);
      } else if (outcome === "refused" && result.data && result.data.errors) {
        showErrors(form, result.data.errors);
      } else if (outcome === "refused") {
        show("danger", errorText(result.data) || String(result.response.status));
      } else {
        // Signed out, or the server is in trouble: keep it on the phone and send it later.
        await keep(form, item);
      }
    } finally {
      if (button) {
        button.disabled = false;
      }
    }
  });

  // --- Location -------------------------------------------------------------------------------

  function locate() {
    return new Promise((resolve, reject) => {
      if (!navigator.geolocation) {
        reject(new Error("unavailable"));
        return;
      }
      navigator.geolocation.getCurrentPosition(resolve, reject, {
        enableHighAccuracy: true,
        timeout: 15000,
        maximumAge: 60000,
      });
    });
  }

  document.addEventListener("click", (event) => {
    const fill = event.target.closest("[data-geolocate-fill]");
    const sort = event.target.closest("[data-geolocate-sort]");
    if (!fill && !sort) {
      return;
    }
    const form = fill ? fill.closest("form") : null;
    const note = form ? form.querySelector("[data-location-status]") : null;
    if (note) {
      note.textContent = message("Locating");
    }
    locate().then(
      (position) => {
        const { latitude, longitude, accuracy } = position.coords;
        if (sort) {
          const url = new URL(window.location.href);
          url.searchParams.set("lat", latitude.toFixed(6));
          url.searchParams.set("lon", longitude.toFixed(6));
          window.location.assign(url.toString());
          return;
        }
        form.querySelector("[name=latitude]").value = latitude.toFixed(6);
        form.querySelector("[name=longitude]").value = longitude.toFixed(6);
        form.querySelector("[name=accuracy_m]").value = String(Math.round(accuracy));
        note.textContent = message("Location", { accuracy: Math.round(accuracy) });
      },
      () => {
        if (note) {
          note.textContent = message("NoLocation");
        } else {
          show("warning", message("NoLocation"));
        }
      },
    );
  });

  // --- Pages that open without network ----------------------------------------------------------

  function precache() {
    if (!("caches" in window) || !navigator.onLine) {
      return;
    }
    const urls = new Set([window.location.href]);
    document.querySelectorAll("a[data-precache]").forEach((link) => urls.add(link.href));
    document.querySelectorAll("link[rel=stylesheet][href], script[src]").forEach((node) => urls.add(node.href || node.src));
    performance.getEntriesByType("resource").forEach((entry) => {
      if (entry.name.startsWith(window.location.origin + "/static/")) {
        urls.add(entry.name);
      }
    });
    caches.open(CACHE).then((cache) =>
      Promise.all(
        Array.from(urls)
          .filter((url) => url.startsWith(window.location.origin))
          .map((url) =>
            cache.match(url, { ignoreVary: true }).then((hit) => {
              if (hit) {
                return undefined; // the service worker refreshes what is opened online
              }
              return fetch(url, { credentials: "same-origin" }).then((response) => {
                if (response.ok && !response.redirected) {
                  return cache.put(url, response);
                }
                return undefined;
              });
            }),
          ),
      ).catch(() => undefined),
    );
  }

  // Signing out forgets the pages kept on this phone (not the unsent forms: they wait for their
  // author to sign in again).
  document.addEventListener("submit", (event) => {
    const action = event.target.getAttribute("action") || "";
    if (action.includes("/logout/") && "caches" in window) {
      caches.delete(CACHE);
    }
  });

  function start() {
    document.querySelectorAll("form[data-offline-form]").forEach(freshForm);
    if ("serviceWorker" in navigator && status.dataset.swUrl) {
      navigator.serviceWorker.register(status.dataset.swUrl, { scope: status.dataset.swScope }).catch(() => undefined);
    }
    precache();
    flush();
  }

  window.addEventListener("online", flush);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      document.querySelectorAll("form[data-offline-form]").forEach(freshForm);
    }
  });
  window.setInterval(flush, RESEND_EVERY_MS);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
