// The GAN demo page. It speaks TensorFlow Serving's REST API only (model status, metadata,
// predict) with no library and no build step, so it runs offline in a classroom and works
// unchanged against tensorflow_model_server served from the same origin.
"use strict";

const DEFAULT_MODEL = "dcgan_fashion_mnist";  // the project's default experiment
const GRID_SIZE = 16;
const NUM_SLIDERS = 6;
const SLIDER_LIMIT = 3;  // z ~ N(0, I): +-3 holds 99.7% of each dimension (U[0, 1) fits inside)
const NUM_STEPS = 16;
const FRAME_MS = 120;
const MAX_SEED = 2147483647;
const PEN_WIDTH = 1 / 16;  // of the drawing's width: a digit's stroke on 28 pixels, a marker's on 256
const ERASER_WIDTH = 1 / 8;  // of the image's width: 3.5 pixels of 28
const ERASED = [255, 0, 0];  // the erased pixels' colour on the Inpaint panel's input

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const state = {
  model: "",
  version: params.get("version") || "",  // "" asks for the latest version
  signatures: {},
  latentDim: 0,
  sampleZ: false,  // the sample signature answers each seed's z
  conditional: false,
  zSeed: 0,
  z: [],
  pairSeed: 0,
  frames: [],
  frame: 0,
  direction: 1,
  timer: null,
  // Moving pictures are opt-out for people who asked their system for less motion.
  playing: !matchMedia("(prefers-reduced-motion: reduce)").matches,
  served: [],  // model names from the embedded server's config.json, if any
  translator: false,  // the model translates images (it has translate_png)
  reverse: false,  // the Translate panel runs a CycleGAN's other direction
  examples: [],  // the direction's test images, base64 PNG files
  exampleSets: {},  // signature name -> the promise of its test images (loadExamples)
  upscaler: false,  // the model also upscales images of any size (it has upscale_png)
  upscaleExamples: [],  // the Upscale panel's test images, base64 PNG files
  inpainter: false,  // the model completes images with missing pixels (it has inpaint_png)
  inpaintExamples: [],  // the Inpaint panel's test images, base64 PNG files
  picture: null,  // the Inpaint panel's image: {b64: a PNG file at the model's size, image: it decoded}
  mask: null,  // the Inpaint panel's mask, a canvas of the model's size: white = erased (missing), black = known
  eraser: null,  // the eraser's last point [x, y] while a pointer is down
  texter: false,  // the model makes images from text (it has generate)
  pen: null,  // the drawing's last point [x, y] while a pointer is down
};

// An error whose message is written for the user (the others are bugs); `status` is the
// HTTP status of the answer that caused it, if any.
class PageError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------- REST

function serverBase() {
  return $("server").value.trim().replace(/\/+$/, "");
}

function defaultServer() {
  if (params.has("server")) return params.get("server");
  // Served over HTTP, the API is on the same origin: the embedded server's /demo, or a proxy.
  return /^https?:$/.test(location.protocol) ? location.origin : "http://localhost:8501";
}

function isSameOrigin(base) {
  try {
    return new URL(base || location.href, location.href).origin === location.origin;
  } catch (e) {
    return false;
  }
}

function unreachableMessage(base) {
  let message = `Cannot reach the model server at ${base}: is it running?`;
  if (!isSameOrigin(base)) {
    // The browser hides a CORS refusal behind the same network error as a dead server.
    message += " A server on another origin must also allow this page by CORS, which TensorFlow Serving " +
      "does not: open the page from the server's own origin (python -m serving.server --demo_page, or a " +
      "reverse proxy in front of TensorFlow Serving).";
  }
  return message;
}

// GET (no body) or POST a JSON body; answers the parsed JSON or throws a PageError.
async function rest(path, body) {
  const base = serverBase();
  let response;
  try {
    // No Content-Type header: a "simple" request, so no CORS preflight that TF Serving would refuse.
    response = await fetch(base + path, body === undefined ? {cache: "no-store"} :
      {method: "POST", body: JSON.stringify(body)});
  } catch (e) {
    throw new PageError(unreachableMessage(base));
  }
  const text = await response.text();
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch (e) {
    // Said below: the answer is not TF Serving's.
  }
  if (!response.ok && answer && typeof answer.error === "string") {
    throw new PageError(`The model server answered HTTP ${response.status}: ${answer.error}`, response.status);
  }
  if (!response.ok || answer === null) {
    throw new PageError(`${base}${path} answered HTTP ${response.status} without TensorFlow Serving's JSON: ` +
      "is that address TensorFlow Serving's REST API (port 8501)?", response.status);
  }
  return answer;
}

function modelPath() {
  const version = state.version ? `/versions/${encodeURIComponent(state.version)}` : "";
  return `/v1/models/${encodeURIComponent(state.model)}${version}`;
}

// One predict request; `ms` is its wall time in the browser, answer parsed. `outputs` is always
// {name: value}: TF Serving's columnar answer gives a signature's only output bare, so it is named.
async function predict(signature, inputs) {
  const start = performance.now();
  const answer = await rest(`${modelPath()}:predict`, {signature_name: signature, inputs});
  const names = Object.keys(state.signatures[signature]?.outputs || {});
  const outputs = names.length === 1 ? {[names[0]]: answer.outputs} : answer.outputs;
  return {outputs, ms: performance.now() - start};
}

// A conditional model's class for each of `count` rows.
function labelInputs(count) {
  return state.conditional ? {label: Array(count).fill(Number($("label").value))} : {};
}

// The embedded server's config.json lists its models; TF Serving has no such list.
async function servedModels() {
  if (!/^https?:$/.test(location.protocol) || !isSameOrigin(serverBase())) return [];
  try {
    const response = await fetch("config.json", {cache: "no-store"});
    return response.ok ? Object.keys((await response.json()).models || {}) : [];
  } catch (e) {
    return [];
  }
}

// ---------------------------------------------------------------- page helpers

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// Every user action clears the last error, then shows its own.
async function act(work) {
  clearError();
  try {
    await work();
  } catch (e) {
    showError(e instanceof PageError ? e.message : `Unexpected error in the page: ${e.message}`);
  }
}

// Runs work(current) for a panel. Answers can arrive out of order (two quick clicks on "New
// seed"), so only the panel's latest request may draw: work checks current() before drawing.
// aria-busy while it waits; data-renders counts finished draws; a failed panel is marked
// stale, so its old pictures are not taken for the answer.
const latestRequest = {};

async function busy(panelId, work) {
  const panel = $(panelId);
  const ticket = latestRequest[panelId] = (latestRequest[panelId] || 0) + 1;
  const current = () => latestRequest[panelId] === ticket;
  panel.setAttribute("aria-busy", "true");
  try {
    await work(current);
    if (current()) {
      panel.dataset.renders = Number(panel.dataset.renders || 0) + 1;
      panel.classList.remove("stale");
    }
  } catch (e) {
    if (!current()) return;  // superseded: the newer request reports
    panel.classList.add("stale");
    panel.querySelector(".latency").textContent = "";
    throw e;
  } finally {
    if (current()) panel.removeAttribute("aria-busy");
  }
}

function latencyText(count, noun, ms) {
  return `${count} ${noun}${count === 1 ? "" : "s"} in ${Math.round(ms)} ms`;
}

function pngUrl(tensor) {
  return `data:image/png;base64,${tensor.b64}`;
}

// Decoded images only: the swap then shows no half-loaded pictures.
async function decodedImages(urls, alt) {
  const images = urls.map((url, i) => Object.assign(new Image(), {src: url, alt: alt(i), className: "picture"}));
  await Promise.all(images.map((image) => image.decode()));
  return images;
}

function randomSeed() {
  return Math.floor(Math.random() * 1000000);  // short enough to read out in class
}

function readSeed() {
  const seed = Math.trunc(Number($("seed").value));
  if (!Number.isFinite(seed) || seed < 0 || seed > MAX_SEED) {
    throw new PageError(`The seed must be a whole number from 0 to ${MAX_SEED}.`);
  }
  return seed;
}

// The z each seed names. An export's sample signature answers it as `z` (whatever the model's
// latent distribution or InfoGAN codes), so the latent panel starts at, and an interpolation
// runs between, the seeds' own samples. An export older than that output gets the page's own
// N(0, I) draw below.
async function latentsFor(seeds) {
  if (!state.sampleZ) return seeds.map((seed) => normalVector(seed, state.latentDim));
  const {outputs} = await predict("sample", {seed: seeds, ...labelInputs(seeds.length)});
  return outputs.z;
}

// mulberry32: a tiny seeded PRNG, so a z seed names the same z in every browser (for exports
// whose sample signature does not answer z).
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Box-Muller: two uniforms give two N(0, 1) draws (1 - u keeps the log away from 0).
function normalVector(seed, size) {
  const random = mulberry32(seed);
  const z = [];
  while (z.length < size) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    z.push(radius * Math.cos(angle), radius * Math.sin(angle));
  }
  return z.slice(0, size);
}

// image: [H][W][C] floats in [-1, 1], rounded to bytes as the export's to_uint8 does (ties
// aside: TensorFlow rounds them to even).
function drawFloatImage(canvas, image) {
  if (!Array.isArray(image) || !Array.isArray(image[0]) || !Array.isArray(image[0][0])) {
    throw new PageError(`Model ${state.model} does not output images [H, W, C] (a toy model?).`);
  }
  canvas.width = image[0].length;
  canvas.height = image.length;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(canvas.width, canvas.height);
  let offset = 0;
  for (const row of image) {
    for (const pixel of row) {
      for (let c = 0; c < 3; c++) {
        const value = pixel.length >= 3 ? pixel[c] : pixel[0];
        pixels.data[offset + c] = Math.round((Math.min(Math.max(value, -1), 1) + 1) * 127.5);
      }
      pixels.data[offset + 3] = 255;
      offset += 4;
    }
  }
  context.putImageData(pixels, 0, 0);
}

// The URL names what is on screen, so it can be shared with the class.
function updateUrl() {
  const query = new URLSearchParams({model: state.model});
  if (state.version) query.set("version", state.version);
  if (!isSameOrigin(serverBase())) query.set("server", serverBase());
  if (state.conditional) query.set("label", $("label").value);
  if ($("num-classes").value !== "10") query.set("classes", $("num-classes").value);
  query.set("seed", $("seed").value);
  history.replaceState(null, "", `?${query}`);
}

// ---------------------------------------------------------------- model

async function connect() {
  stopAnimation();
  resetPanels();
  state.model = $("model").value.trim();
  if (!state.model) throw new PageError("Enter a model name.");
  let status;
  try {
    status = await rest(`/v1/models/${encodeURIComponent(state.model)}`);
  } catch (e) {
    if (e.status === 404 && state.served.length) {
      e.message += `. This server serves: ${state.served.join(", ")}.`;
    }
    throw e;
  }
  fillVersions(status.model_version_status || []);
  await showModel();
}

// The panels of a generator of latent vectors, or of a translator, and the signature each one needs.
const LATENT_PANELS = [
  {panel: "grid-panel", signature: "sample", draw: drawGrid},
  {panel: "latent-panel", signature: "serving_default", draw: drawLatent},
  {panel: "interp-panel", signature: "interpolate", draw: drawInterpolation},
];
const TRANSLATE_PANELS = [{panel: "translate-panel", signature: "translate_png", draw: drawTranslatePanel}];
const UPSCALE_PANELS = [{panel: "upscale-panel", signature: "upscale_png", draw: drawUpscalePanel}];
const INPAINT_PANELS = [{panel: "inpaint-panel", signature: "inpaint_png", draw: drawInpaintPanel}];
const TEXT_PANELS = [{panel: "prompt-panel", signature: "generate", draw: drawPromptPanel}];
const ALL_PANELS = [...LATENT_PANELS, ...TRANSLATE_PANELS, ...UPSCALE_PANELS, ...INPAINT_PANELS, ...TEXT_PANELS];

// An upscaler is a translator (translate_png at its trained size) that also upscales any size.
function panels() {
  if (state.inpainter) return INPAINT_PANELS;
  if (state.texter) return TEXT_PANELS;
  if (!state.translator) return LATENT_PANELS;
  return state.upscaler ? [...TRANSLATE_PANELS, ...UPSCALE_PANELS] : TRANSLATE_PANELS;
}

// Reads the chosen version's metadata, then draws every panel its signatures allow.
async function showModel() {
  state.exampleSets = {};  // another model or version: other test images
  const missing = await loadMetadata();
  $("panels").hidden = false;
  await renderAll();
  if (missing.length) {
    const names = missing.map(({signature}) => `"${signature}"`).join(" and ");
    throw new PageError(`Model ${state.model} has no ${names} signature${missing.length > 1 ? "s" : ""}, so ` +
      "the demo leaves that part out; an export by tfgan_course.export has serving_default, sample and interpolate.");
  }
}

// Nothing of the last model stays on screen; the panels show again once a model's metadata is read.
function resetPanels() {
  $("panels").hidden = true;
  $("model-info").textContent = "";
  for (const id of ["grid", "sliders", "filmstrip", "examples", "prompt-grid"]) $(id).replaceChildren();
  for (const id of ["grid-latency", "latent-latency", "interp-latency", "translate-latency", "upscale-latency",
    "inpaint-latency", "prompt-latency"]) {
    $(id).textContent = "";
  }
  for (const id of ["interp-frame", "translate-output", "upscale-input", "upscale-output", "inpaint-output"]) {
    $(id).removeAttribute("src");
  }
  $("upscale-examples").replaceChildren();
  $("inpaint-examples").replaceChildren();
  state.frames = [];
  state.examples = [];
  state.upscaleExamples = [];
  state.inpaintExamples = [];
  state.picture = null;
  setReverse(false);
}

// Versions newest first; those not AVAILABLE are listed, disabled, with their state.
function fillVersions(statuses) {
  const select = $("version");
  select.replaceChildren(new Option("latest", ""));
  for (const status of statuses) {
    const available = status.state === "AVAILABLE";
    const option = new Option(available ? status.version : `${status.version} (${status.state})`, status.version);
    option.disabled = !available;
    select.add(option);
  }
  const wanted = [...select.options].find((option) => option.value === state.version && !option.disabled);
  select.value = wanted ? state.version : "";
  state.version = select.value;
  if (!statuses.some((status) => status.state === "AVAILABLE")) {
    const newest = statuses[0];
    const why = newest && newest.status && newest.status.error_message ? `: ${newest.status.error_message}` : ".";
    throw new PageError(`Model ${state.model} has no available version yet${why}`);
  }
}

// Fills the model's description, class selector and sliders; answers the PANELS it cannot draw.
async function loadMetadata() {
  const answer = await rest(`${modelPath()}/metadata`);
  const signatures = answer.metadata.signature_def.signature_def;
  state.signatures = signatures;
  // The only sign of a conditional model: its signatures take a label.
  state.conditional = Object.values(signatures).some((signature) => "label" in (signature.inputs || {}));
  const z = (signatures.serving_default || {}).inputs?.z || (signatures.interpolate || {}).inputs?.z_start;
  // int64 sizes come as strings in the proto's JSON.
  state.latentDim = z ? Number(z.tensor_shape.dim[1].size) : 0;
  state.sampleZ = Boolean((signatures.sample || {}).outputs?.z);
  state.translator = Boolean(signatures.translate_png);
  state.upscaler = Boolean(signatures.upscale_png);
  state.inpainter = Boolean(signatures.inpaint_png);
  state.texter = Boolean(signatures.generate);
  const shape = (name) => (tensorShape("serving_default", name) || ["?"]).join("×");
  const translatorKind = state.upscaler ? `upscaler ×${upscaleFactor()}` :
    signatures.reverse_png ? "translator, both directions" : "translator";
  const kind = state.inpainter ? [`images ${shape("inputs")} + mask → ${shape("outputs")}`, "inpainter"] :
    state.translator ?
    [`images ${shape("inputs")} → ${shape("outputs")}`, translatorKind] :
    [`images ${shape("outputs")}`, `latent ${state.latentDim || "?"}`,
      state.texter ? "text to image" : state.conditional ? "conditional" : "unconditional"];
  $("model-info").textContent = [
    state.model, state.version ? `version ${state.version}` : "latest version", ...kind,
  ].join(" · ");
  $("class-controls").hidden = !state.conditional;
  $("reverse").hidden = !signatures.reverse_png;
  if (!signatures.reverse_png) setReverse(false);  // a version without the other direction
  if (!state.translator && !state.inpainter && !state.texter) await buildSliders();
  updateUrl();
  // Only the panels of the model's kind show; one whose signature the model lacks (an older or a
  // foreign export) is left out.
  const shown = panels();
  for (const entry of ALL_PANELS) $(entry.panel).hidden = !shown.includes(entry) || !signatures[entry.signature];
  return shown.filter(({signature}) => !signatures[signature]);
}

// The shape after the batch dimension of a signature's `images` input or output (int64 sizes come as
// strings in the proto's JSON); null if it has none.
function tensorShape(signature, kind) {
  const images = (state.signatures[signature] || {})[kind]?.images;
  return images ? images.tensor_shape.dim.slice(1).map((dim) => Number(dim.size)) : null;
}

// Each panel draws even if another failed; the first failure is reported.
async function renderAll() {
  const failures = [];
  for (const {panel, draw} of panels()) {
    if ($(panel).hidden) continue;
    try {
      await draw();
    } catch (e) {
      failures.push(e);
    }
  }
  updateUrl();
  if (failures.length) throw failures[0];
}

function fillClasses() {
  const count = Math.min(Math.max(Math.trunc(Number($("num-classes").value)) || 1, 1), 1000);
  const select = $("label");
  const current = Number(select.value || params.get("label") || 0);
  select.replaceChildren(...Array.from({length: count}, (_, i) => new Option(String(i), String(i))));
  select.value = String(Math.min(current, count - 1));
}

// ---------------------------------------------------------------- samples grid

async function drawGrid() {
  const first = readSeed();
  const seeds = Array.from({length: GRID_SIZE}, (_, i) => first + i);
  await busy("grid-panel", async (current) => {
    const {outputs, ms} = await predict("sample", {seed: seeds, ...labelInputs(seeds.length)});
    if (!outputs.images_png_bytes) {
      throw new PageError(`The "sample" signature of ${state.model} answers no PNG images (a toy model?).`);
    }
    const images = await decodedImages(outputs.images_png_bytes.map(pngUrl), (i) => `Sample of seed ${seeds[i]}`);
    if (!current()) return;
    $("grid").replaceChildren(...images);
    $("seed-range").textContent = `, seeds ${seeds[0]} to ${seeds[seeds.length - 1]}`;
    $("grid-latency").textContent = latencyText(images.length, "image", ms);
  });
}

// ---------------------------------------------------------------- latent sliders

async function buildSliders() {
  const sliders = [];
  for (let i = 0; i < Math.min(NUM_SLIDERS, state.latentDim); i++) {
    const input = Object.assign(document.createElement("input"), {
      type: "range", id: `z${i}`, min: -SLIDER_LIMIT, max: SLIDER_LIMIT, step: 0.05,
    });
    input.dataset.dim = i;
    const output = Object.assign(document.createElement("output"), {id: `z${i}-value`});
    output.htmlFor = input.id;
    const label = document.createElement("label");
    label.append(`z[${i}]`, input, output);
    sliders.push(label);
  }
  $("sliders").replaceChildren(...sliders);
  await setZ(state.zSeed);
}

// The z of a seed; the sliders show (and clip to +-SLIDER_LIMIT) its first dimensions.
async function setZ(seed) {
  const [z] = await latentsFor([seed]);
  state.zSeed = seed;
  state.z = z;
  $("z-seed").textContent = seed;
  for (const input of $("sliders").querySelectorAll("input")) {
    const dim = Number(input.dataset.dim);
    input.value = String(state.z[dim]);
    state.z[dim] = Number(input.value);  // what the slider shows is what is sent
    $(`${input.id}-value`).textContent = state.z[dim].toFixed(2);
  }
}

async function drawLatent() {
  await busy("latent-panel", async (current) => {
    const {outputs, ms} = await predict("serving_default", {z: [state.z], ...labelInputs(1)});
    if (!current()) return;
    // With one output TF Serving answers the tensor itself, not a dict of one.
    const images = Array.isArray(outputs) ? outputs : outputs.images;
    drawFloatImage($("latent-canvas"), images[0]);
    $("latent-latency").textContent = latencyText(1, "image", ms);
  });
}

// Slider moves come faster than answers: one request in flight, then one for the latest z.
let latentInFlight = false;
let latentAgain = false;

async function redrawLatent() {
  if (latentInFlight) {
    latentAgain = true;
    return;
  }
  latentInFlight = true;
  try {
    do {
      latentAgain = false;
      await act(drawLatent);
    } while (latentAgain);
  } finally {
    latentInFlight = false;
  }
}

function onSlider(event) {
  const input = event.target;
  state.z[Number(input.dataset.dim)] = Number(input.value);
  $(`${input.id}-value`).textContent = Number(input.value).toFixed(2);
  redrawLatent();
}

// ---------------------------------------------------------------- interpolation

async function drawInterpolation() {
  const pair = `${state.pairSeed} and ${state.pairSeed + 1}`;
  await busy("interp-panel", async (current) => {
    const [zStart, zEnd] = await latentsFor([state.pairSeed, state.pairSeed + 1]);
    const {outputs, ms} = await predict("interpolate", {
      z_start: [zStart], z_end: [zEnd], num_steps: [NUM_STEPS], ...labelInputs(1),
    });
    if (!outputs.images_png_bytes) {
      throw new PageError(`The "interpolate" signature of ${state.model} answers no PNG images (a toy model?).`);
    }
    const frames = await decodedImages(outputs.images_png_bytes[0].map(pngUrl), (i) => `Step ${i + 1}`);
    if (!current()) return;
    state.frames = frames.map((frame) => frame.src);
    $("pair-seeds").textContent = pair;
    $("filmstrip").replaceChildren(...frames);
    $("frame").max = String(frames.length - 1);
    showFrame(Math.min(state.frame, frames.length - 1));
    $("interp-latency").textContent = latencyText(frames.length, "frame", ms);
  });
  if (state.playing) startAnimation();
}

function showFrame(index) {
  state.frame = index;
  $("interp-frame").src = state.frames[index];
  $("interp-frame").alt = `Interpolation step ${index + 1} of ${state.frames.length}`;
  $("frame").value = String(index);
  $("frame-number").textContent = `${index + 1} / ${state.frames.length}`;
  $("filmstrip").querySelectorAll("img").forEach((image, i) => image.classList.toggle("current", i === index));
}

// Back and forth, so the path reads as a path rather than a jump back to the start.
function nextFrame() {
  const last = state.frames.length - 1;
  if (last < 1) return;
  if (state.frame + state.direction > last || state.frame + state.direction < 0) state.direction *= -1;
  showFrame(state.frame + state.direction);
}

function startAnimation() {
  stopAnimation();
  state.timer = setInterval(nextFrame, FRAME_MS);
}

function stopAnimation() {
  clearInterval(state.timer);
  state.timer = null;
}

function setPlaying(playing) {
  state.playing = playing;
  $("play").textContent = playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(playing));
  if (playing && state.frames.length) startAnimation();
  else stopAnimation();
}

// ---------------------------------------------------------------- translate

// The signatures of the direction shown: a CycleGAN's reverse runs its other generator.
function direction() {
  return state.reverse ?
    {images: "reverse", png: "reverse_png", examples: "reverse_examples"} :
    {images: "serving_default", png: "translate_png", examples: "examples"};
}

function setReverse(reverse) {
  state.reverse = reverse;
  $("reverse").setAttribute("aria-pressed", String(reverse));
  $("translate-signature").textContent = direction().png;
  $("examples-signature").textContent = direction().examples;
}

// A fresh white page of the model's input size, then the direction's test images; the first one
// (or, without examples, the blank page) is translated. Toggling fast: only the latest draws.
let examplesRequest = 0;

async function drawTranslatePanel() {
  const ticket = ++examplesRequest;
  const [height, width] = tensorShape(direction().images, "inputs");
  $("translate-size").textContent = `${height}×${width}`;
  clearDrawing();
  const name = direction().examples;
  const examples = state.signatures[name] ? await loadExamples(name) : [];
  if (ticket !== examplesRequest) return;
  showExamples(examples);
  await (examples.length ? pickExample(0) : translateDrawing());
}

// A signature's test images (base64 PNG files), fetched once per model version shown: an upscaler's translate
// and upscale panels both show its "examples".
function loadExamples(name) {
  if (!state.exampleSets[name]) {
    state.exampleSets[name] = fetchExamples(name);
    state.exampleSets[name].catch(() => delete state.exampleSets[name]);  // a failure is retried next time
  }
  return state.exampleSets[name];
}

// The export holds N examples: a request for the first says N, a second fetches the rest.
async function fetchExamples(name) {
  const first = (await predict(name, {index: [0]})).outputs;
  const others = Array.from({length: first.num_examples[0] - 1}, (_, i) => i + 1);
  const rest = others.length ? (await predict(name, {index: others})).outputs.images_png_bytes : [];
  return [first.images_png_bytes[0], ...rest].map((tensor) => tensor.b64);
}

function showExamples(examples) {
  state.examples = examples;
  $("examples").replaceChildren(...exampleButtons(examples));
}

// A button per test image (PNG files as base64), labelled for screen readers.
function exampleButtons(examples) {
  return examples.map((b64, i) => {
    const button = Object.assign(document.createElement("button"), {type: "button", className: "example"});
    button.setAttribute("aria-label", `Test image ${i + 1}`);
    button.setAttribute("aria-pressed", "false");
    button.append(Object.assign(new Image(), {src: pngUrl({b64}), alt: "", className: "picture"}));
    return button;
  });
}

function markExample(index, group = "examples") {
  $(group).querySelectorAll("button").forEach((button, i) => {
    button.setAttribute("aria-pressed", String(i === index));
  });
}

// The example's own PNG file is sent, so the output is the export's for that test image; the
// drawing shows it, to draw on.
async function pickExample(index) {
  markExample(index);
  const [image] = await decodedImages([pngUrl({b64: state.examples[index]})], () => "");
  paint(image);
  await translate(state.examples[index], `test image ${index + 1}`);
}

async function translate(b64, source) {
  await busy("translate-panel", async (current) => {
    const {outputs, ms} = await predict(direction().png, {images_png_bytes: [{b64}]});
    const [image] = await decodedImages([pngUrl(outputs.images_png_bytes[0])], () => "");
    if (!current()) return;
    $("translate-output").src = image.src;
    $("translate-output").alt = `The model's translation of ${source}`;
    $("translate-latency").textContent = latencyText(1, "image", ms);
  });
}

function translateDrawing() {
  markExample(-1);
  return translate($("draw-canvas").toDataURL("image/png").split(",")[1], "your drawing");
}

function clearDrawing() {
  const canvas = $("draw-canvas");
  [canvas.height, canvas.width] = tensorShape(direction().images, "inputs");
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
}

// An image on the white page, stretched to its size.
function paint(image) {
  clearDrawing();
  const canvas = $("draw-canvas");
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
}

// A pointer's position in the pixels of the canvas it is on (the canvas is shown scaled up).
function canvasPoint(event) {
  const canvas = event.currentTarget;
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
    (event.clientY - box.top) * canvas.height / box.height];
}

// A round line from `from` to `to` on a canvas, `width` of the canvas's width wide (at least a pixel).
function stroke(canvas, from, to, colour, width) {
  const context = canvas.getContext("2d");
  Object.assign(context, {strokeStyle: colour, lineCap: "round", lineJoin: "round",
    lineWidth: Math.max(1, canvas.width * width)});
  context.beginPath();
  context.moveTo(...from);
  context.lineTo(...to);
  context.stroke();
}

function strokeTo(point) {
  stroke($("draw-canvas"), state.pen, point, "#000", PEN_WIDTH);
  state.pen = point;
}

function onPenDown(event) {
  if (event.button !== 0) return;  // the main button, a finger or a pen's tip
  event.preventDefault();
  event.target.setPointerCapture(event.pointerId);
  state.pen = canvasPoint(event);
  strokeTo(state.pen);  // a tap leaves a dot
}

function onPenMove(event) {
  if (state.pen) strokeTo(canvasPoint(event));
}

// Each finished stroke is translated.
function onPenUp() {
  if (!state.pen) return;
  state.pen = null;
  act(translateDrawing);
}

// Any image the browser reads, sent at its own size as a PNG file (the export resizes it).
async function translateFile(file) {
  const {image, b64} = await fileAsPng(file);
  paint(image);
  markExample(-1);
  await translate(b64, file.name);
}

// {image: the decoded file, b64: it as a PNG file at its own size}; a PageError for a file that is no image.
async function fileAsPng(file) {
  const url = URL.createObjectURL(file);
  try {
    const image = Object.assign(new Image(), {src: url});
    await image.decode().catch(() => {
      throw new PageError(`${file.name} is not an image this browser can read.`);
    });
    const canvas = Object.assign(document.createElement("canvas"), {width: image.naturalWidth,
      height: image.naturalHeight});
    canvas.getContext("2d").drawImage(image, 0, 0);
    return {image, b64: canvas.toDataURL("image/png").split(",")[1]};
  } finally {
    URL.revokeObjectURL(url);
  }
}

// ---------------------------------------------------------------- upscale

// Output height over input height of the trained-size signature.
function upscaleFactor() {
  return tensorShape("serving_default", "outputs")[0] / tensorShape("serving_default", "inputs")[0];
}

// The test images (the low-resolution inputs of the export's examples); the first is upscaled.
async function drawUpscalePanel() {
  $("upscale-scale").textContent = String(upscaleFactor());
  state.upscaleExamples = state.signatures.examples ? await loadExamples("examples") : [];
  $("upscale-examples").replaceChildren(...exampleButtons(state.upscaleExamples));
  if (state.upscaleExamples.length) await pickUpscaleExample(0);
}

async function pickUpscaleExample(index) {
  markExample(index, "upscale-examples");
  await upscale(state.upscaleExamples[index], `test image ${index + 1}`);
}

// The PNG file (base64) at its own size through upscale_png; the input shows at the output's size.
async function upscale(b64, source) {
  await busy("upscale-panel", async (current) => {
    const {outputs, ms} = await predict("upscale_png", {images_png_bytes: [{b64}]});
    const [input, output] = await decodedImages([pngUrl({b64}), pngUrl(outputs.images_png_bytes[0])], () => "");
    if (!current()) return;
    $("upscale-input").src = input.src;
    $("upscale-input").alt = `The low-resolution input: ${source}`;
    $("upscale-output").src = output.src;
    $("upscale-output").alt = `The model's upscaling of ${source}`;
    $("upscale-input-size").textContent = `Input ${input.naturalHeight}×${input.naturalWidth}`;
    $("upscale-output-size").textContent = `Output ${output.naturalHeight}×${output.naturalWidth}`;
    $("upscale-latency").textContent = latencyText(1, "image", ms);
  });
}

async function upscaleFile(file) {
  const {b64} = await fileAsPng(file);
  markExample(-1, "upscale-examples");
  await upscale(b64, file.name);
}

// ---------------------------------------------------------------- inpaint

// [H, W] of the images the inpainter takes.
function inpaintSize() {
  return tensorShape("inpaint", "inputs").slice(0, 2);
}

// The test images; the first is shown with the centred hole (the evaluation's) erased, and completed.
async function drawInpaintPanel() {
  const [height, width] = inpaintSize();
  $("inpaint-size").textContent = `${height}×${width}`;
  state.mask = Object.assign(document.createElement("canvas"), {width, height});
  state.inpaintExamples = state.signatures.examples ? await loadExamples("examples") : [];
  $("inpaint-examples").replaceChildren(...exampleButtons(state.inpaintExamples));
  if (state.inpaintExamples.length) {
    await pickInpaintExample(0);
  } else {
    const page = Object.assign(document.createElement("canvas"), {width, height});
    Object.assign(page.getContext("2d"), {fillStyle: "#fff"}).fillRect(0, 0, width, height);
    const [image] = await decodedImages([page.toDataURL("image/png")], () => "");
    await showPicture({b64: page.toDataURL("image/png").split(",")[1], image}, "a white page");
  }
}

async function pickInpaintExample(index) {
  markExample(index, "inpaint-examples");
  const b64 = state.inpaintExamples[index];
  const [image] = await decodedImages([pngUrl({b64})], () => "");
  await showPicture({b64, image}, `test image ${index + 1}`);
}

// A new picture, with the centred hole erased, completed by the model.
async function showPicture(picture, source) {
  state.picture = {...picture, source};
  eraseCentre();
  await inpaint();
}

// The erased pixels: a mask pixel is missing where it is at least half white, as the export reads it.
function erasedPixels() {
  const {width, height} = state.mask;
  const data = state.mask.getContext("2d").getImageData(0, 0, width, height).data;
  return Array.from({length: width * height}, (_, i) => data[4 * i] >= 128);
}

// The picture at the model's size, its erased pixels in red.
function showErased() {
  const canvas = $("erase-canvas");
  [canvas.width, canvas.height] = [state.mask.width, state.mask.height];
  const context = canvas.getContext("2d");
  context.drawImage(state.picture.image, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  erasedPixels().forEach((erased, i) => {
    if (erased) pixels.data.set(ERASED, 4 * i);
  });
  context.putImageData(pixels, 0, 0);
}

function clearMask() {
  const context = state.mask.getContext("2d");
  context.fillStyle = "#000";
  context.fillRect(0, 0, state.mask.width, state.mask.height);
}

// The centred square of half the side, the hole the evaluation scores.
function eraseCentre() {
  clearMask();
  const {width, height} = state.mask;
  const [holeHeight, holeWidth] = [Math.floor(height / 2), Math.floor(width / 2)];
  const context = state.mask.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(Math.floor((width - holeWidth) / 2), Math.floor((height - holeHeight) / 2), holeWidth, holeHeight);
  showErased();
}

// The picture's PNG file and the mask's through inpaint_png.
async function inpaint() {
  const source = state.picture.source;
  await busy("inpaint-panel", async (current) => {
    const {outputs, ms} = await predict("inpaint_png", {
      images_png_bytes: [{b64: state.picture.b64}],
      mask_png_bytes: [{b64: state.mask.toDataURL("image/png").split(",")[1]}],
    });
    const [image] = await decodedImages([pngUrl(outputs.images_png_bytes[0])], () => "");
    if (!current()) return;
    $("inpaint-output").src = image.src;
    $("inpaint-output").alt = `The model's completion of ${source}`;
    $("inpaint-latency").textContent = latencyText(1, "image", ms);
  });
}

// The mask has the erase canvas's size: a point on one is the same pixel of the other.
function eraseTo(point) {
  stroke(state.mask, state.eraser, point, "#fff", ERASER_WIDTH);
  state.eraser = point;
  showErased();
}

function onEraserDown(event) {
  if (event.button !== 0 || !state.picture) return;
  event.preventDefault();
  event.target.setPointerCapture(event.pointerId);
  state.eraser = canvasPoint(event);
  eraseTo(state.eraser);
}

function onEraserMove(event) {
  if (state.eraser) eraseTo(canvasPoint(event));
}

// Each finished stroke is completed.
function onEraserUp() {
  if (!state.eraser) return;
  state.eraser = null;
  markExample(-1, "inpaint-examples");
  state.picture.source = "your erasure";
  act(inpaint);
}

// Any image the browser reads, drawn at the model's size (so the mask and the image match).
async function inpaintFile(file) {
  const {image} = await fileAsPng(file);
  const {width, height} = state.mask;
  const canvas = Object.assign(document.createElement("canvas"), {width, height});
  canvas.getContext("2d").drawImage(image, 0, 0, width, height);
  const [resized] = await decodedImages([canvas.toDataURL("image/png")], () => "");
  markExample(-1, "inpaint-examples");
  await showPicture({b64: canvas.toDataURL("image/png").split(",")[1], image: resized}, file.name);
}

// ---------------------------------------------------------------- text to image

// GRID_SIZE / 2 images of the prompt, seeds from the page's seed on; an empty prompt is the server's
// INVALID_ARGUMENT, shown in the banner.
async function drawPromptPanel() {
  const first = readSeed();
  const prompt = $("prompt").value;
  const seeds = Array.from({length: GRID_SIZE / 2}, (_, i) => first + i);
  await busy("prompt-panel", async (current) => {
    const {outputs, ms} = await predict("generate", {text: seeds.map(() => prompt), seed: seeds});
    const images = await decodedImages(outputs.images_png_bytes.map(pngUrl),
      (i) => `"${prompt}", seed ${seeds[i]}`);
    if (!current()) return;
    $("prompt-grid").replaceChildren(...images);
    $("prompt-latency").textContent = latencyText(images.length, "image", ms);
  });
}

// ---------------------------------------------------------------- wiring

async function init() {
  $("server").value = defaultServer();
  $("num-classes").value = params.get("classes") || "10";
  $("seed").value = params.get("seed") || "0";
  state.zSeed = state.pairSeed = Number($("seed").value) || 0;
  fillClasses();
  setPlaying(state.playing);

  $("connect-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.version = "";  // another model: its latest version unless one is picked
    act(connect);
  });
  $("version").addEventListener("change", () => act(async () => {
    state.version = $("version").value;
    await showModel();
  }));
  $("label").addEventListener("change", () => act(renderAll));
  $("num-classes").addEventListener("change", () => {
    const before = $("label").value;
    fillClasses();
    if ($("label").value !== before) act(renderAll);
  });
  $("seed").addEventListener("change", () => act(drawGrid).then(updateUrl));
  $("new-seed").addEventListener("click", () => {
    $("seed").value = String(randomSeed());
    act(drawGrid).then(updateUrl);
  });
  $("sliders").addEventListener("input", onSlider);
  $("new-z").addEventListener("click", () => act(() => setZ(randomSeed())).then(redrawLatent));
  $("reset-z").addEventListener("click", () => act(() => setZ(state.zSeed)).then(redrawLatent));
  $("new-pair").addEventListener("click", () => {
    state.pairSeed = randomSeed();
    act(drawInterpolation);
  });
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  $("frame").addEventListener("input", () => {
    setPlaying(false);
    showFrame(Number($("frame").value));
  });
  $("reverse").addEventListener("click", () => {
    setReverse(!state.reverse);
    act(drawTranslatePanel);
  });
  $("clear-drawing").addEventListener("click", () => {
    clearDrawing();
    act(translateDrawing);
  });
  $("upload").addEventListener("change", () => {
    const [file] = $("upload").files;
    $("upload").value = "";  // the same file again is a change too
    if (file) act(() => translateFile(file));
  });
  $("prompt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(drawPromptPanel);
  });
  $("upscale-upload").addEventListener("change", () => {
    const [file] = $("upscale-upload").files;
    $("upscale-upload").value = "";
    if (file) act(() => upscaleFile(file));
  });
  $("upscale-examples").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (button) act(() => pickUpscaleExample([...$("upscale-examples").children].indexOf(button)));
  });
  $("inpaint-examples").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (button) act(() => pickInpaintExample([...$("inpaint-examples").children].indexOf(button)));
  });
  $("centre-hole").addEventListener("click", () => act(async () => {
    eraseCentre();
    await inpaint();
  }));
  $("restore-image").addEventListener("click", () => act(async () => {
    clearMask();
    showErased();
    await inpaint();
  }));
  $("inpaint-upload").addEventListener("change", () => {
    const [file] = $("inpaint-upload").files;
    $("inpaint-upload").value = "";
    if (file) act(() => inpaintFile(file));
  });
  const eraser = $("erase-canvas");
  eraser.addEventListener("pointerdown", onEraserDown);
  eraser.addEventListener("pointermove", onEraserMove);
  eraser.addEventListener("pointerup", onEraserUp);
  eraser.addEventListener("pointercancel", onEraserUp);
  $("examples").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (button) act(() => pickExample([...$("examples").children].indexOf(button)));
  });
  const canvas = $("draw-canvas");
  canvas.addEventListener("pointerdown", onPenDown);
  canvas.addEventListener("pointermove", onPenMove);
  canvas.addEventListener("pointerup", onPenUp);
  canvas.addEventListener("pointercancel", onPenUp);
  $("filmstrip").addEventListener("click", (event) => {
    const index = [...$("filmstrip").children].indexOf(event.target);
    if (index >= 0) {
      setPlaying(false);
      showFrame(index);
    }
  });

  const served = state.served = await servedModels();
  const preferred = served.length && !served.includes(DEFAULT_MODEL) ? served[0] : DEFAULT_MODEL;
  $("model-names").replaceChildren(...served.map((name) => new Option(name)));
  $("model").value = params.get("model") || preferred;
  await act(connect);
}

init();
