// Before/after comparison of two photos of a body site on the progression page.
// Reads /api/v1/photos/{id}/change/?against= with the admin session; no library needed.
"use strict";

(function () {
  function url(template, id) {
    return template.replace("/0/", "/" + id + "/");
  }

  function percent(value) {
    return value === null ? "–" : (100 * value).toFixed(1) + " %";
  }

  function show(section, body) {
    const result = section.querySelector(".compare-result");
    const status = section.querySelector(".compare-status");
    const photo = section.dataset.photoUrl;
    section.querySelector(".compare-earlier").src = url(photo, body.earlier.id);
    section.querySelector(".compare-later").src = url(photo, body.later.id);
    section.querySelector(".compare-earlier-date").textContent = "Before: " + body.earlier.taken_at.slice(0, 10);
    section.querySelector(".compare-later-date").textContent = "After: " + body.later.taken_at.slice(0, 10);
    const aligned = section.querySelector(".compare-aligned");
    const figures = section.querySelector(".compare-figures");
    const note = section.querySelector(".compare-note");
    if (!body.aligned) {
      status.textContent = "These photos could not be aligned: " + body.reason + ". No change is measured.";
      status.classList.add("compare-refused");
      aligned.hidden = true;
      figures.hidden = true;
      note.hidden = true;
    } else {
      status.textContent = "";
      status.classList.remove("compare-refused");
      section.querySelector(".compare-slider-earlier").src = url(photo, body.earlier.id);
      section.querySelector(".compare-slider-later").src = body.aligned_url;
      section.querySelector(".compare-overlay").src = body.overlay_url;
      for (const cell of figures.querySelectorAll("[data-figure]")) {
        const value = body[cell.dataset.figure];
        cell.textContent = cell.dataset.figure === "transform_error_px" ? value.toFixed(2) + " px" : percent(value);
      }
      aligned.hidden = false;
      figures.hidden = false;
      note.hidden = false;
    }
    result.hidden = false;
  }

  function compare(section, event) {
    event.preventDefault();
    const form = event.target;
    const earlier = form.elements.earlier.value;
    const later = form.elements.later.value;
    const status = section.querySelector(".compare-status");
    status.classList.remove("compare-refused");
    status.textContent = "Comparing…";
    section.dataset.state = "loading";
    fetch(url(section.dataset.changeUrl, later) + "?against=" + encodeURIComponent(earlier), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) {
          status.textContent = body.detail || "The comparison failed.";
          status.classList.add("compare-refused");
          section.dataset.state = "error";
          return;
        }
        show(section, body);
        section.dataset.state = body.aligned ? "aligned" : "not-aligned";
      })
      .catch(() => {
        status.textContent = "The comparison failed (network).";
        status.classList.add("compare-refused");
        section.dataset.state = "error";
      });
  }

  function slide(section, event) {
    const split = event.target.value + "%";
    section.querySelector(".compare-slider-later").style.clipPath = "inset(0 0 0 " + split + ")";
    section.querySelector(".compare-slider-frame").style.setProperty("--split", split);
  }

  document.addEventListener("DOMContentLoaded", function () {
    for (const section of document.querySelectorAll("section.compare")) {
      section.querySelector(".compare-form").addEventListener("submit", (event) => compare(section, event));
      section.querySelector(".compare-slider-range").addEventListener("input", (event) => slide(section, event));
    }
  });
})();
