// The drawing page: draw (Pointer Events) or drop a photo, POST it to /predict with
// return_input=1, show the label, the ten probabilities and the 28x28 image the model saw.
// Plain browser JavaScript, no dependencies. #result carries data-state (empty | ok | error) and
// data-pending ("1" while a prediction is due or on its way) for people and tests alike.
"use strict";

const PEN = 28;        // stroke width on the 448 px canvas: 1/16 of its side, MNIST-like strokes
const INK = "#111827";
const PAPER = "#ffffff";
const WAIT_MS = 150;   // while drawing, at most one request per WAIT_MS; one more after the last change

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const seen = $("seen").getContext("2d");
const result = $("result");
const select = $("model");

const state = {
  source: null,   // null (nothing to read), "canvas", or the File picked or dropped
  drawing: false,
  last: null,     // last pointer position in canvas pixels
  timer: 0,
  busy: false,
  again: false,
  generation: 0,  // bumped by Clear: answers to older requests are dropped
  models: new Map(),
};

// -- drawing ------------------------------------------------------------------------------------

function blank() {
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, pad.width, pad.height);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) * pad.width) / box.width,
    y: ((event.clientY - box.top) * pad.height) / box.height,
  };
}

function segment(from, to) {
  ctx.strokeStyle = INK;
  ctx.lineWidth = PEN;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

function penDown(event) {
  if (event.pointerType === "mouse" && event.button !== 0) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  state.source = "canvas";
  state.drawing = true;
  state.last = point(event);
  segment(state.last, state.last);
  schedule();
}

function penMove(event) {
  if (!state.drawing) return;
  const events = event.getCoalescedEvents?.() ?? []; // every sample, not one per frame
  for (const e of events.length ? events : [event]) {
    const p = point(e);
    segment(state.last, p);
    state.last = p;
  }
  schedule();
}

function penUp() {
  if (!state.drawing) return;
  state.drawing = false;
  schedule();
}

// -- photos -------------------------------------------------------------------------------------

async function showPhoto(file) {
  blank();
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale;
    const h = bitmap.height * scale;
    ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    bitmap.close();
  } catch {
    // Not an image the browser can show: the server will say what is wrong with it.
  }
}

async function usePhoto(file) {
  if (!file) return;
  state.source = file;
  schedule(); // the file itself is sent, not the canvas: no need to wait for it to be shown
  await showPhoto(file);
}

// -- predictions --------------------------------------------------------------------------------

function setPending(on) {
  result.dataset.pending = on ? "1" : "0";
}

function schedule() {
  setPending(true);
  if (!state.timer) {
    state.timer = setTimeout(() => {
      state.timer = 0;
      run();
    }, WAIT_MS);
  }
}

async function run() {
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  try {
    await predictOnce(state.generation);
  } finally {
    state.busy = false;
  }
  if (state.again) {
    state.again = false;
    run();
  } else if (!state.timer) {
    setPending(false);
  }
}

function canvasPng() {
  return new Promise((resolve) => pad.toBlob(resolve, "image/png"));
}

async function request() {
  const url = `/predict?model=${encodeURIComponent(select.value)}&return_input=1`;
  if (state.source instanceof File) {
    const form = new FormData();
    form.append("image", state.source, state.source.name);
    return fetch(url, { method: "POST", body: form });
  }
  const png = await canvasPng();
  return fetch(url, { method: "POST", body: png, headers: { "Content-Type": "image/png" } });
}

async function predictOnce(generation) {
  if (state.source === null && generation === state.generation) {
    state.source = "canvas"; // "Predict" on an empty canvas: let the server say it is blank
  }
  let response;
  let body = null;
  try {
    response = await request();
    body = await response.json().catch(() => null);
  } catch {
    if (generation === state.generation) {
      showError("Cannot reach the server. Is it running?", "");
    }
    return;
  }
  if (generation !== state.generation) return;
  if (response.ok && body && body.predictions) {
    showPrediction(body.predictions[0], body.model);
  } else {
    showError(...explain(response.status, body));
  }
}

// -- showing results ----------------------------------------------------------------------------

const LEADS = {
  400: "The server could not read that file as an image.",
  413: "That file is too large for the server.",
  415: "The server does not take that kind of file.",
  422: "The server refused the image.",
  503: "The model is not ready yet. Try again in a moment.",
};

function explain(status, body) {
  const error = (body && body.error) || `HTTP ${status}`;
  const reasons = body && body.details ? Object.values(body.details).flat() : [];
  const lead = error === "no digit in the image"
    ? "No digit in the image: draw one, or pick a clearer photo."
    : LEADS[status] || "The server answered with an error.";
  return [lead, `Server said (${status}): ${[error, ...reasons].join(" — ")}`];
}

function labelsOf(name) {
  const model = state.models.get(name);
  return model && model.labels ? model.labels : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
}

function buildBars() {
  const bars = $("bars");
  bars.replaceChildren(
    ...labelsOf(select.value).map((label) => {
      const item = document.createElement("li");
      item.innerHTML =
        '<span class="digit"></span><span class="track"><span class="fill"></span></span>' +
        '<span class="pct"></span>';
      item.querySelector(".digit").textContent = label;
      return item;
    }),
  );
  fillBars(null);
}

function fillBars(probabilities) {
  const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  $("bars").querySelectorAll("li").forEach((item, i) => {
    const p = probabilities ? probabilities[i] : 0;
    item.classList.toggle("best", i === top);
    item.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    item.querySelector(".pct").textContent = probabilities ? percent(p) : "";
  });
}

function percent(p) {
  const text = p >= 0.995 ? "> 99 %" : p < 0.005 ? "< 1 %" : `${Math.round(p * 100)} %`;
  return text.replaceAll(" ", "\u00a0"); // never wrap inside "92 %"
}

function drawSeen(input) {
  const image = seen.createImageData(28, 28);
  for (let i = 0; i < 28 * 28; i += 1) {
    const v = input ? input[Math.floor(i / 28)][i % 28] : 0;
    image.data.set([v, v, v, 255], i * 4);
  }
  seen.putImageData(image, 0, 0);
}

function show(kind, { label = "", confidence = "", by = "", probabilities = null, input = null }) {
  result.dataset.state = kind;
  $("label").textContent = label;
  $("confidence").textContent = confidence;
  $("by").textContent = by;
  fillBars(probabilities);
  drawSeen(input);
}

function showPrediction(prediction, model) {
  const p = Math.max(...prediction.probabilities);
  show("ok", {
    label: prediction.label,
    confidence: `${percent(p)} sure`,
    by: `model ${model}`,
    probabilities: prediction.probabilities,
    input: prediction.input,
  });
  if (!state.drawing) {
    $("status").textContent = `Read as ${prediction.label} (${percent(p)}).`;
  }
}

function showError(lead, detail) {
  show("error", {});
  const status = $("status");
  status.textContent = lead;
  if (detail) {
    const small = document.createElement("span");
    small.className = "detail";
    small.textContent = detail;
    status.append(document.createElement("br"), small);
  }
}

function clearAll() {
  state.generation += 1;
  clearTimeout(state.timer);
  Object.assign(state, { timer: 0, again: false, source: null, drawing: false });
  $("file").value = "";
  blank();
  show("empty", {});
  $("status").textContent = "Draw a digit to start.";
  setPending(state.busy);
}

// -- models -------------------------------------------------------------------------------------

async function loadModels() {
  let listing;
  try {
    const response = await fetch("/models");
    listing = await response.json();
  } catch {
    showError("Cannot reach the server to list the models. Is it running?", "");
    return;
  }
  const images = listing.models.filter(
    (m) => m.input.kind === "image" && m.input.shape.join("x") === "28x28",
  );
  images.forEach((m) => state.models.set(m.name, m));
  const options = images.map((m) => new Option(m.name, m.name));
  for (const name of Object.keys(listing.unavailable || {})) {
    const option = new Option(`${name} (not loaded)`, name);
    option.disabled = true;
    options.push(option);
  }
  select.replaceChildren(...options);
  if (!images.length) {
    showError("No image model is loaded on this server.", "");
    return;
  }
  select.value = state.models.has("mnist") ? "mnist" : images[0].name;
  select.disabled = false;
  buildBars();
}

function changeModel() {
  buildBars();
  if (state.source !== null) schedule();
}

// -- wiring -------------------------------------------------------------------------------------

function wireDrop() {
  const drop = $("drop");
  const over = (on) => (event) => {
    event.preventDefault();
    drop.classList.toggle("over", on);
  };
  drop.addEventListener("dragenter", over(true));
  drop.addEventListener("dragover", over(true));
  drop.addEventListener("dragleave", over(false));
  drop.addEventListener("drop", (event) => {
    over(false)(event);
    usePhoto(event.dataTransfer.files[0]);
  });
}

function wire() {
  pad.addEventListener("pointerdown", penDown);
  pad.addEventListener("pointermove", penMove);
  pad.addEventListener("pointerup", penUp);
  pad.addEventListener("pointercancel", penUp);
  pad.addEventListener("keydown", (event) => {
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      clearAll();
    }
  });
  $("clear").addEventListener("click", clearAll);
  $("predict").addEventListener("click", schedule);
  $("file").addEventListener("change", (event) => usePhoto(event.target.files[0]));
  select.addEventListener("change", changeModel);
  wireDrop();
}

blank();
buildBars();
drawSeen(null);
wire();
loadModels();
