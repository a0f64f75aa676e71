// The mask editor of the admin (diary/templates/admin/diary/photo/mask_editor.html).
// The mask is kept as one byte per photo pixel (1 lesion, 0 skin) at the photo's natural size,
// painted pixel by pixel rather than with the canvas's own paths: those are anti-aliased, and a
// mask must stay black and white. Saved as an opaque black-and-white PNG through the API
// (POST /api/v1/photos/{id}/corrections/), which validates and measures it. No library needed.
"use strict";

(function () {
  const OVERLAY = [255, 40, 160, 120]; // lesion drawn over the photo: magenta, half transparent
  const ZOOM_STEP = 1.5;
  const MAX_SCREEN_PX_PER_PIXEL = 32;

  function loadImage(url) {
    return new Promise(function (resolve, reject) {
      const image = new Image();
      image.onload = function () { resolve(image); };
      image.onerror = function () { reject(new Error("could not load " + url)); };
      image.src = url;
    });
  }

  function percent(value, digits) {
    return value === null || value === undefined ? "–" : (100 * value).toFixed(digits) + " %";
  }

  function fixed(value) {
    return value === null || value === undefined ? "–" : value.toFixed(3);
  }

  // The server's 4xx JSON ({detail, code, errors}) as one sentence a clinician can act on.
  function errorMessage(status, body) {
    if (!body || typeof body !== "object") {
      return "The server refused the mask (HTTP " + status + ").";
    }
    const parts = [];
    if (body.errors && typeof body.errors === "object") {
      for (const list of Object.values(body.errors)) {
        for (const item of [].concat(list)) {
          const message = item && item.message ? item.message : String(item);
          if (message && message !== body.detail) { parts.push(message); }
        }
      }
    }
    const detail = body.detail ? String(body.detail) : "The server refused the mask.";
    const code = body.code ? " [" + body.code + "]" : "";
    return "Not saved: " + [detail].concat(parts).join(" ") + code;
  }

  function Editor(section) {
    this.section = section;
    this.width = Number(section.dataset.width);
    this.height = Number(section.dataset.height);
    this.count = this.width * this.height;
    this.mask = new Uint8Array(this.count);
    this.canvas = section.querySelector(".mask-editor-canvas");
    this.ctx = this.canvas.getContext("2d");
    this.overlay = document.createElement("canvas");
    this.overlay.width = this.width;
    this.overlay.height = this.height;
    this.overlayCtx = this.overlay.getContext("2d");
    this.overlayData = this.overlayCtx.createImageData(this.width, this.height);
    this.status = section.querySelector(".mask-editor-status");
    this.tool = "brush";
    this.size = Math.max(2, Math.round(Math.min(this.width, this.height) / 40));
    this.zoom = 1;
    this.offset = { x: 0, y: 0 };
    this.undo = [];
    this.redo = [];
    // Snapshots are whole masks: keep the stack within about 200 MB of memory.
    this.maxUndo = Math.max(5, Math.min(50, Math.floor(200e6 / this.count)));
    this.pointers = new Map();
    this.stroke = null;
    this.pinch = null;
    this.hover = null;
    this.spacePan = false;
    this.showMask = true;
    this.dirty = null;
    this.frame = 0;
  }

  Editor.prototype.start = async function () {
    const data = this.section.dataset;
    try {
      const [photo, mask] = await Promise.all([loadImage(data.imageUrl), loadImage(data.maskUrl)]);
      if (photo.naturalWidth !== this.width || photo.naturalHeight !== this.height) {
        throw new Error("the photo is " + photo.naturalWidth + "×" + photo.naturalHeight +
                        " pixels, not " + this.width + "×" + this.height);
      }
      this.photo = photo;
      this.maskFromImage(mask);
    } catch (error) {
      this.say("The editor could not load the photo or its mask: " + error.message + ".", "error");
      return;
    }
    this.bindControls();
    this.bindPointer();
    this.setSize(this.size);
    this.layout();
    window.addEventListener("resize", this.layout.bind(this));
    this.section.querySelector("[data-action=save]").disabled = false;
    this.say("Paint with the brush to add lesion, erase to remove it, then save.", "ready");
  };

  Editor.prototype.say = function (message, state) {
    this.status.textContent = message;
    this.status.classList.toggle("mask-editor-error", state === "error");
    if (state) { this.section.dataset.state = state; }
  };

  // A mask image (the file view's full-size PNG) into the byte mask: lesion where R >= 128.
  Editor.prototype.maskFromImage = function (image) {
    const canvas = document.createElement("canvas");
    canvas.width = this.width;
    canvas.height = this.height;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, 0, 0, this.width, this.height);
    const pixels = ctx.getImageData(0, 0, this.width, this.height).data;
    for (let i = 0; i < this.count; i++) { this.mask[i] = pixels[4 * i] >= 128 ? 1 : 0; }
    this.repaintOverlay();
  };

  Editor.prototype.repaintOverlay = function () {
    const out = this.overlayData.data;
    for (let i = 0; i < this.count; i++) {
      const o = 4 * i;
      out[o] = OVERLAY[0]; out[o + 1] = OVERLAY[1]; out[o + 2] = OVERLAY[2];
      out[o + 3] = this.mask[i] ? OVERLAY[3] : 0;
    }
    this.overlayCtx.putImageData(this.overlayData, 0, 0);
    this.dirty = null;
    this.requestDraw();
  };

  // ---- view: fit, zoom and pan -------------------------------------------------------------

  Editor.prototype.layout = function () {
    const stage = this.canvas.parentElement;
    const cssWidth = Math.max(200, stage.clientWidth);
    const cssHeight = Math.min(cssWidth * this.height / this.width, Math.max(240, window.innerHeight * 0.75));
    const ratio = window.devicePixelRatio || 1;
    this.canvas.style.width = cssWidth + "px";
    this.canvas.style.height = cssHeight + "px";
    this.canvas.width = Math.round(cssWidth * ratio);
    this.canvas.height = Math.round(cssHeight * ratio);
    this.view = { width: cssWidth, height: cssHeight, ratio: ratio };
    this.fit = Math.min(cssWidth / this.width, cssHeight / this.height);
    this.setZoom(this.zoom, cssWidth / 2, cssHeight / 2);
  };

  Editor.prototype.scale = function () { return this.fit * this.zoom; };

  Editor.prototype.clampOffset = function () {
    const s = this.scale();
    for (const [axis, extent, size] of [["x", this.view.width, this.width], ["y", this.view.height, this.height]]) {
      const shown = size * s;
      this.offset[axis] = shown <= extent
        ? (extent - shown) / 2
        : Math.min(0, Math.max(extent - shown, this.offset[axis]));
    }
  };

  // Zoom to ``zoom`` keeping the photo point under (cx, cy) (CSS pixels of the canvas) in place.
  Editor.prototype.setZoom = function (zoom, cx, cy) {
    const maxZoom = Math.max(1, MAX_SCREEN_PX_PER_PIXEL / this.fit);
    const before = this.scale();
    const ix = (cx - this.offset.x) / before;
    const iy = (cy - this.offset.y) / before;
    this.zoom = Math.min(maxZoom, Math.max(1, zoom));
    this.offset.x = cx - ix * this.scale();
    this.offset.y = cy - iy * this.scale();
    this.clampOffset();
    this.section.querySelector(".mask-editor-zoom").textContent = Math.round(this.zoom * 100) + " %";
    this.section.dataset.zoom = this.zoom.toFixed(3);
    this.requestDraw();
  };

  Editor.prototype.panBy = function (dx, dy) {
    this.offset.x += dx;
    this.offset.y += dy;
    this.clampOffset();
    this.requestDraw();
  };

  Editor.prototype.requestDraw = function () {
    if (this.frame) { return; }
    this.frame = window.requestAnimationFrame(this.draw.bind(this));
  };

  Editor.prototype.draw = function () {
    this.frame = 0;
    if (this.dirty) {
      const d = this.dirty;
      this.overlayCtx.putImageData(this.overlayData, 0, 0, d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
      this.dirty = null;
    }
    if (!this.view || !this.photo) { return; }
    const ctx = this.ctx;
    const s = this.scale();
    ctx.setTransform(this.view.ratio, 0, 0, this.view.ratio, 0, 0);
    ctx.clearRect(0, 0, this.view.width, this.view.height);
    // Zoomed in, each photo pixel is shown as a square: the mask's edge is what is being edited.
    ctx.imageSmoothingEnabled = s < 2;
    ctx.drawImage(this.photo, this.offset.x, this.offset.y, this.width * s, this.height * s);
    if (this.showMask) {
      ctx.drawImage(this.overlay, this.offset.x, this.offset.y, this.width * s, this.height * s);
    }
    if (this.hover && this.tool !== "pan" && !this.spacePan) {
      ctx.beginPath();
      ctx.arc(this.hover.x, this.hover.y, Math.max(1, (this.size / 2) * s), 0, 2 * Math.PI);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = this.tool === "eraser" ? "#00e5ff" : "#ffffff";
      ctx.stroke();
    }
  };

  // ---- painting ----------------------------------------------------------------------------

  Editor.prototype.toPhoto = function (event) {
    const rect = this.canvas.getBoundingClientRect();
    const s = this.scale();
    return {
      x: (event.clientX - rect.left - this.offset.x) / s,
      y: (event.clientY - rect.top - this.offset.y) / s,
    };
  };

  // Every pixel whose centre lies within the brush's disc, set to ``value``: hard edges only.
  Editor.prototype.stamp = function (x, y, value) {
    const r = this.size / 2;
    const r2 = Math.max(r * r, 0.5); // a 1-pixel brush still paints the pixel under it
    const x0 = Math.max(0, Math.floor(x - r)), x1 = Math.min(this.width, Math.ceil(x + r));
    const y0 = Math.max(0, Math.floor(y - r)), y1 = Math.min(this.height, Math.ceil(y + r));
    if (x0 >= x1 || y0 >= y1) { return; }
    const out = this.overlayData.data;
    const alpha = value ? OVERLAY[3] : 0;
    for (let py = y0; py < y1; py++) {
      const dy = py + 0.5 - y;
      for (let px = x0; px < x1; px++) {
        const dx = px + 0.5 - x;
        if (dx * dx + dy * dy <= r2) {
          const i = py * this.width + px;
          this.mask[i] = value;
          out[4 * i + 3] = alpha;
        }
      }
    }
    const d = this.dirty;
    this.dirty = d
      ? { x0: Math.min(d.x0, x0), y0: Math.min(d.y0, y0), x1: Math.max(d.x1, x1), y1: Math.max(d.y1, y1) }
      : { x0: x0, y0: y0, x1: x1, y1: y1 };
  };

  // Stamps close enough together along the segment that a fast stroke leaves no gaps.
  Editor.prototype.line = function (from, to, value) {
    const step = Math.max(0.5, this.size / 4);
    const distance = Math.hypot(to.x - from.x, to.y - from.y);
    const n = Math.max(1, Math.ceil(distance / step));
    for (let k = 1; k <= n; k++) {
      this.stamp(from.x + (to.x - from.x) * k / n, from.y + (to.y - from.y) * k / n, value);
    }
  };

  Editor.prototype.remember = function () {
    this.undo.push(this.mask.slice());
    if (this.undo.length > this.maxUndo) { this.undo.shift(); }
    this.redo = [];
    this.updateHistoryButtons();
  };

  Editor.prototype.restore = function (from, to) {
    if (!from.length) { return; }
    to.push(this.mask.slice());
    this.mask.set(from.pop());
    this.repaintOverlay();
    this.updateHistoryButtons();
  };

  Editor.prototype.updateHistoryButtons = function () {
    this.section.querySelector("[data-action=undo]").disabled = this.undo.length === 0;
    this.section.querySelector("[data-action=redo]").disabled = this.redo.length === 0;
    this.section.dataset.undo = String(this.undo.length);
  };

  Editor.prototype.panning = function (event) {
    return this.tool === "pan" || this.spacePan || event.button === 1;
  };

  Editor.prototype.bindPointer = function () {
    const canvas = this.canvas;
    const self = this;

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      self.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (self.pointers.size === 2) {
        // A second finger: the gesture is a pinch, not a stroke; take the stroke back.
        if (self.stroke && self.stroke.painted) { self.restore(self.undo, []); self.redo = []; }
        self.stroke = null;
        self.pinch = self.pinchState();
        return;
      }
      if (self.pointers.size > 2) { return; }
      if (self.panning(event)) {
        self.stroke = { pan: true, last: { x: event.clientX, y: event.clientY } };
        return;
      }
      if (event.button !== 0 && event.pointerType === "mouse") { return; }
      const at = self.toPhoto(event);
      // A pen's eraser end (button 5) erases whatever the tool.
      const value = self.tool === "eraser" || event.button === 5 ? 0 : 1;
      self.remember();
      self.stroke = { value: value, last: at, painted: true };
      self.stamp(at.x, at.y, value);
      self.requestDraw();
    });

    canvas.addEventListener("pointermove", function (event) {
      const rect = canvas.getBoundingClientRect();
      self.hover = event.pointerType === "touch" ? null
        : { x: event.clientX - rect.left, y: event.clientY - rect.top };
      if (self.pointers.has(event.pointerId)) {
        self.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      }
      if (self.pinch && self.pointers.size === 2) {
        const now = self.pinchState();
        self.setZoom(self.pinch.zoom * now.distance / self.pinch.distance, now.x, now.y);
        self.panBy(now.x - self.pinch.x, now.y - self.pinch.y);
        self.pinch = { zoom: self.zoom, distance: now.distance, x: now.x, y: now.y };
        return;
      }
      const stroke = self.stroke;
      if (!stroke) { self.requestDraw(); return; }
      if (stroke.pan) {
        self.panBy(event.clientX - stroke.last.x, event.clientY - stroke.last.y);
        stroke.last = { x: event.clientX, y: event.clientY };
        return;
      }
      // Coalesced events: the positions the browser merged into this one, for smooth curves.
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const e of events.length ? events : [event]) {
        const at = self.toPhoto(e);
        self.line(stroke.last, at, stroke.value);
        stroke.last = at;
      }
      self.requestDraw();
    });

    function end(event) {
      self.pointers.delete(event.pointerId);
      if (self.pointers.size < 2) { self.pinch = null; }
      if (self.pointers.size === 0) {
        if (self.stroke && self.stroke.painted) { self.section.dataset.edited = "true"; }
        self.stroke = null;
      }
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", function () { self.hover = null; self.requestDraw(); });
    canvas.addEventListener("wheel", function (event) {
      event.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const factor = event.deltaY < 0 ? 1.2 : 1 / 1.2;
      self.setZoom(self.zoom * factor, event.clientX - rect.left, event.clientY - rect.top);
    }, { passive: false });
  };

  Editor.prototype.pinchState = function () {
    const rect = this.canvas.getBoundingClientRect();
    const [a, b] = Array.from(this.pointers.values());
    return {
      zoom: this.zoom,
      distance: Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)),
      x: (a.x + b.x) / 2 - rect.left,
      y: (a.y + b.y) / 2 - rect.top,
    };
  };

  // ---- controls ----------------------------------------------------------------------------

  Editor.prototype.setTool = function (tool) {
    this.tool = tool;
    for (const button of this.section.querySelectorAll("[data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
    }
    this.section.dataset.tool = tool;
    this.canvas.classList.toggle("mask-editor-panning", tool === "pan");
    this.requestDraw();
  };

  Editor.prototype.setSize = function (size) {
    const input = this.section.querySelector("input[name=size]");
    input.max = String(Math.max(8, Math.round(Math.min(this.width, this.height) / 4)));
    this.size = Math.min(Number(input.max), Math.max(1, Math.round(size)));
    input.value = String(this.size);
    this.section.querySelector(".mask-editor-size-value").textContent = this.size + " px";
    this.requestDraw();
  };

  Editor.prototype.zoomBy = function (factor) {
    this.setZoom(this.zoom * factor, this.view.width / 2, this.view.height / 2);
  };

  Editor.prototype.resetToModel = async function () {
    this.say("Loading the model's mask…", "loading");
    try {
      const image = await loadImage(this.section.dataset.modelMaskUrl);
      this.remember();
      this.maskFromImage(image);
      this.section.dataset.edited = "true";
      this.say("The model's mask is back (Undo brings your edits back); save to keep it.", "ready");
    } catch (error) {
      this.say("The model's mask could not be loaded: " + error.message + ".", "error");
    }
  };

  Editor.prototype.bindControls = function () {
    const self = this;
    const section = this.section;
    for (const button of section.querySelectorAll("[data-tool]")) {
      button.addEventListener("click", function () { self.setTool(button.dataset.tool); });
    }
    section.querySelector("input[name=size]").addEventListener("input", function (event) {
      self.setSize(Number(event.target.value));
    });
    section.querySelector("input[name=show-mask]").addEventListener("change", function (event) {
      self.showMask = event.target.checked;
      self.requestDraw();
    });
    const actions = {
      "zoom-in": function () { self.zoomBy(ZOOM_STEP); },
      "zoom-out": function () { self.zoomBy(1 / ZOOM_STEP); },
      "zoom-fit": function () { self.setZoom(1, self.view.width / 2, self.view.height / 2); },
      undo: function () { self.restore(self.undo, self.redo); },
      redo: function () { self.restore(self.redo, self.undo); },
      reset: function () { self.resetToModel(); },
      save: function () { self.save(); },
    };
    for (const [name, run] of Object.entries(actions)) {
      section.querySelector("[data-action=" + name + "]").addEventListener("click", run);
    }
    document.addEventListener("keydown", function (event) {
      if (event.target.closest("input, select, textarea")) { return; }
      const key = event.key.toLowerCase();
      if (key === " " && event.target.closest("button, a")) { return; } // Space presses it
      if ((event.ctrlKey || event.metaKey) && key === "z") {
        (event.shiftKey ? actions.redo : actions.undo)();
      } else if ((event.ctrlKey || event.metaKey) && key === "y") {
        actions.redo();
      } else if (event.ctrlKey || event.metaKey || event.altKey) {
        return;
      } else if (key === " ") {
        self.spacePan = true;
      } else if ({ b: 1, e: 1, m: 1 }[key]) {
        self.setTool({ b: "brush", e: "eraser", m: "pan" }[key]);
      } else if (key === "+" || key === "=") {
        actions["zoom-in"]();
      } else if (key === "-") {
        actions["zoom-out"]();
      } else if (key === "0") {
        actions["zoom-fit"]();
      } else {
        return;
      }
      event.preventDefault();
    });
    document.addEventListener("keyup", function (event) {
      if (event.key === " ") { self.spacePan = false; self.requestDraw(); }
    });
  };

  // ---- saving ------------------------------------------------------------------------------

  // The mask at the photo's natural size: opaque white lesion on black, no grey pixel at all.
  Editor.prototype.maskBlob = function () {
    const canvas = document.createElement("canvas");
    canvas.width = this.width;
    canvas.height = this.height;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(this.width, this.height);
    const out = image.data;
    for (let i = 0; i < this.count; i++) {
      const v = this.mask[i] ? 255 : 0;
      out[4 * i] = v; out[4 * i + 1] = v; out[4 * i + 2] = v; out[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/png"); });
  };

  Editor.prototype.save = async function () {
    const button = this.section.querySelector("[data-action=save]");
    const result = this.section.querySelector(".mask-editor-result");
    button.disabled = true;
    result.hidden = true;
    this.say("Saving…", "saving");
    const form = new FormData();
    form.append("mask", await this.maskBlob(), "mask.png");
    const token = this.section.querySelector("input[name=csrfmiddlewaretoken]").value;
    let response;
    try {
      response = await fetch(this.section.dataset.saveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, Accept: "application/json" },
        body: form,
      });
    } catch (error) {
      this.say("Not saved: the server could not be reached (" + error.message + ").", "error");
      button.disabled = false;
      return;
    }
    let body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    button.disabled = false;
    if (!response.ok) {
      this.say(errorMessage(response.status, body), "error");
      return;
    }
    for (const cell of result.querySelectorAll("[data-result]")) {
      const key = cell.dataset.result;
      const value = body[key];
      cell.textContent = key === "lesion_skin_fraction" ? percent(value, 1)
        : key === "grade" ? (value || "none") : fixed(value);
    }
    result.hidden = false;
    const saved = Number(this.section.dataset.corrections) + 1;
    this.section.dataset.corrections = String(saved);
    this.section.dataset.correction = String(body.id);
    this.section.dataset.edited = "false";
    this.section.querySelector(".mask-editor-loaded").textContent =
      "your correction (saved " + body.created_at.slice(0, 16).replace("T", " ") + ")";
    this.section.querySelector(".mask-editor-history").textContent =
      saved + " correction" + (saved === 1 ? "" : "s") + " saved so far";
    this.say("Saved: your mask is now the one in force for this photo.", "saved");
  };

  document.addEventListener("DOMContentLoaded", function () {
    const section = document.getElementById("mask-editor");
    if (section) { new Editor(section).start(); }
  });
})();
