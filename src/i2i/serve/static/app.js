// The drawing page of `i2i serve`: draw (or load, upload, paste) an input on the canvas and see what the chosen
// model makes of it. Plain JavaScript, no build step, no external resources: the page's Content-Security-Policy
// allows only this server.
//
// How it works: the model list comes from GET /v1/models. Each finished stroke (and undo, redo, clear, example,
// model or direction change) schedules a refresh: the canvas is sent as a PNG body to the model's translate URL and,
// in parallel, to the classify URL of every classifier that reads this model's input. A newer refresh aborts the one
// in flight, and a sequence number makes sure a late answer is never shown over a newer one.

'use strict';

(() => {
  const HISTORY_LIMIT = 50; // undo states kept per drawing
  const DEBOUNCE_MS = 300; // wait this long after a change before asking the server
  const TOP_K = 3; // categories shown per classifier
  const WHITE = '#ffffff';
  const INK = '#000000';
  const PEN_SIZE = { sketch: 3, labels: 8 }; // default pen size for drawings and label maps

  const $ = (id) => document.getElementById(id);
  const ui = {
    modelPicker: $('model-picker'),
    directionField: $('direction-field'),
    directionPicker: $('direction-picker'),
    description: $('model-description'),
    tools: Array.from(document.querySelectorAll('.tool')),
    penTool: $('tool-pen'),
    penSize: $('pen-size'),
    palette: $('palette'),
    canvas: $('canvas'),
    canvasWrap: $('canvas-wrap'),
    undo: $('undo'),
    redo: $('redo'),
    clear: $('clear'),
    examplePicker: $('example-picker'),
    upload: $('upload'),
    status: $('status'),
    timing: $('timing'),
    error: $('error'),
    outputBox: $('output-box'),
    output: $('output'),
    placeholder: $('output-placeholder'),
    categoriesBox: $('categories-box'),
    categories: $('categories'),
    outputActions: $('output-actions'),
    downloadOutput: $('download-output'),
    downloadPair: $('download-pair'),
  };
  const ctx = ui.canvas.getContext('2d', { willReadFrequently: true });

  const state = {
    models: [],
    limits: {},
    model: null, // the chosen model's info from /v1/models
    direction: null, // the chosen direction of a translator
    palette: null, // [{name, color, rgb}] when the input is a label map, else null
    tool: 'pen',
    colorIndex: 0, // the chosen palette entry
    undo: [], // ImageData snapshots before each change
    redo: [],
    drawings: new Map(), // "model/input kind" -> {image, undo, redo}: each model keeps its own drawing
    stroke: null, // the stroke being drawn
    seq: 0, // number of the newest refresh; answers to older ones are dropped
    controller: null, // aborts the requests in flight
    timer: 0, // the debounce timer
    output: null, // {blob, url} of the output shown
  };

  // --- start ---------------------------------------------------------------------------------------------------

  async function start() {
    wireControls();
    let data;
    try {
      data = await getJson('/v1/models');
    } catch (err) {
      showError(`cannot load the model list: ${err.message}`);
      return;
    }
    state.models = data.models || [];
    state.limits = data.limits || {};
    if (!state.models.length) {
      showError('this server serves no models');
      return;
    }
    ui.modelPicker.replaceChildren(
      ...state.models.map((m) => new Option(m.title || m.name, m.name)),
    );
    ui.modelPicker.disabled = false;
    const wanted = decodeURIComponent(location.hash.slice(1));
    selectModel(findModel(wanted) ? wanted : state.models[0].name);
  }

  function wireControls() {
    ui.modelPicker.addEventListener('change', () => selectModel(ui.modelPicker.value));
    ui.directionPicker.addEventListener('change', () => selectDirection(ui.directionPicker.value));
    for (const button of ui.tools) button.addEventListener('click', () => selectTool(button.dataset.tool));
    ui.canvas.addEventListener('pointerdown', onPointerDown);
    ui.canvas.addEventListener('pointermove', onPointerMove);
    ui.canvas.addEventListener('pointerup', onPointerUp);
    ui.canvas.addEventListener('pointercancel', onPointerUp);
    ui.canvas.addEventListener('lostpointercapture', onPointerUp);
    ui.undo.addEventListener('click', undo);
    ui.redo.addEventListener('click', redo);
    ui.clear.addEventListener('click', clearCanvas);
    ui.examplePicker.addEventListener('change', onExampleChosen);
    ui.upload.addEventListener('change', () => {
      const file = ui.upload.files && ui.upload.files[0];
      ui.upload.value = ''; // so that choosing the same file again uploads it again
      uploadFile(file);
    });
    ui.downloadOutput.addEventListener('click', downloadOutput);
    ui.downloadPair.addEventListener('click', downloadPair);
    document.addEventListener('keydown', onKeyDown);
    document.addEventListener('paste', onPaste);
    wireDragAndDrop();
  }

  function findModel(name) {
    return state.models.find((m) => m.name === name) || null;
  }

  // --- model and direction -------------------------------------------------------------------------------------

  function selectModel(name) {
    const model = findModel(name);
    if (!model) return;
    endStroke();
    saveDrawing();
    state.model = model;
    ui.modelPicker.value = name;
    window.history.replaceState(null, '', `#${encodeURIComponent(name)}`);
    const directions = model.directions || [];
    const trained = directions.find((d) => d.trained) || directions[0];
    state.direction = trained ? trained.direction : null;
    ui.directionPicker.replaceChildren(
      ...directions.map((d) => new Option(directionLabel(d), d.direction, false, d === trained)),
    );
    ui.directionField.hidden = directions.length < 2;
    fillExamples(model);
    showOutputArea(model);
    applyInput();
    refreshNow();
  }

  function selectDirection(direction) {
    if (!state.model || direction === state.direction) return;
    endStroke();
    saveDrawing();
    state.direction = direction;
    applyInput();
    refreshNow();
  }

  function directionLabel(d) {
    const arrow = d.direction === 'AtoB' ? 'A → B' : 'B → A';
    return d.trained ? `${arrow} (default)` : arrow;
  }

  /** What the current model (in its current direction) takes as input: {kind, channels, palette}. */
  function currentInput() {
    const model = state.model;
    const way = (model.directions || []).find((d) => d.direction === state.direction);
    return (way && way.input) || model.input || { kind: 'image', palette: null };
  }

  /** Sets up the canvas, tools and palette for the current input, restoring the drawing this model had. */
  function applyInput() {
    const input = currentInput();
    const palette = input.kind === 'labels' && input.palette && input.palette.length ? input.palette : null;
    const wasLabels = Boolean(state.palette);
    state.palette = palette && palette.map((c) => ({ ...c, rgb: hexToRgb(c.color) }));
    const labels = Boolean(state.palette);

    const size = state.model.canvas_size || 256;
    if (ui.canvas.width !== size) ui.canvas.width = size;
    if (ui.canvas.height !== size) ui.canvas.height = size;
    ui.canvas.classList.toggle('labels', labels);

    ui.penTool.textContent = labels ? 'Brush' : 'Pen';
    $('tool-eraser').hidden = labels;
    $('tool-rect').hidden = !labels;
    $('tool-fill').hidden = !labels;
    ui.palette.hidden = !labels;
    if (labels) buildPalette();
    if (labels !== wasLabels) ui.penSize.value = String(labels ? PEN_SIZE.labels : PEN_SIZE.sketch);
    const tool = document.querySelector(`.tool[data-tool="${state.tool}"]`);
    selectTool(tool && !tool.hidden ? state.tool : 'pen');
    ui.description.textContent = describe(state.model, input);
    restoreDrawing();
  }

  function describe(model, input) {
    const hints = {
      labels: 'Paint a label map: pick a class, then draw rectangles, fill regions or use the brush.',
      sketch: 'Draw black lines on white, like a pen sketch.',
      image: 'Draw, or better, upload a picture.',
    };
    const does = model.kind === 'classifier' ? 'It names what your drawing shows.' : '';
    return [model.description ? `${model.description}.` : '', hints[input.kind] || hints.image, does]
      .filter(Boolean)
      .join(' ');
  }

  function buildPalette() {
    if (state.colorIndex >= state.palette.length) state.colorIndex = 0;
    // The first class is the background the canvas starts with; start painting with the next one.
    if (state.colorIndex === 0 && state.palette.length > 1) state.colorIndex = 1;
    ui.palette.replaceChildren(
      ...state.palette.map((entry, index) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'swatch';
        button.dataset.testid = `swatch-${entry.name}`;
        button.dataset.color = entry.color;
        button.title = `${entry.name} (${entry.color})`;
        const chip = document.createElement('span');
        chip.className = 'chip';
        chip.style.backgroundColor = entry.color; // CSSOM from script: allowed by the page's CSP
        chip.setAttribute('aria-hidden', 'true');
        button.append(chip, document.createTextNode(entry.name));
        button.addEventListener('click', () => selectColor(index));
        return button;
      }),
    );
    selectColor(state.colorIndex);
  }

  function selectColor(index) {
    state.colorIndex = index;
    ui.palette.querySelectorAll('.swatch').forEach((button, i) => {
      button.setAttribute('aria-pressed', String(i === index));
    });
  }

  function selectTool(tool) {
    state.tool = tool;
    for (const button of ui.tools) button.setAttribute('aria-pressed', String(button.dataset.tool === tool));
  }

  function fillExamples(model) {
    const examples = model.examples || [];
    const options = examples.map((e) => new Option(prettyName(e.name), e.url));
    ui.examplePicker.replaceChildren(new Option(examples.length ? 'choose one…' : 'none', ''), ...options);
    ui.examplePicker.disabled = !examples.length;
  }

  /** A classifier model has no output image: only its categories are shown. */
  function showOutputArea(model) {
    const classifier = model.kind === 'classifier';
    ui.outputBox.hidden = classifier;
    ui.outputActions.hidden = classifier;
    ui.categoriesBox.hidden = !(classifier || classifiersFor(model).length);
    ui.categories.replaceChildren();
    ui.timing.textContent = '';
    clearOutput();
  }

  /** The classifier models to run on this model's input: itself, or the served classifiers it names. */
  function classifiersFor(model) {
    if (model.kind === 'classifier') return [model];
    return (model.classifiers || []).map(findModel).filter((m) => m && m.classify_url);
  }

  // --- the canvas and its history --------------------------------------------------------------------------------

  function drawingKey() {
    return `${state.model.name}/${currentInput().kind}`;
  }

  function saveDrawing() {
    if (!state.model) return;
    state.drawings.set(drawingKey(), { image: snapshot(), undo: state.undo, redo: state.redo });
  }

  function restoreDrawing() {
    const saved = state.drawings.get(drawingKey());
    if (saved && saved.image.width === ui.canvas.width && saved.image.height === ui.canvas.height) {
      ctx.putImageData(saved.image, 0, 0);
      state.undo = saved.undo;
      state.redo = saved.redo;
    } else {
      fillBlank();
      state.undo = [];
      state.redo = [];
    }
    updateHistoryButtons();
  }

  function blankColor() {
    return state.palette ? state.palette[0].color : WHITE;
  }

  function fillBlank() {
    ctx.fillStyle = blankColor();
    ctx.fillRect(0, 0, ui.canvas.width, ui.canvas.height);
  }

  function snapshot() {
    return ctx.getImageData(0, 0, ui.canvas.width, ui.canvas.height);
  }

  /** Remembers the canvas as it is before a change, for undo; a new change forgets what could be redone. */
  function pushUndo(image = snapshot()) {
    state.undo.push(image);
    if (state.undo.length > HISTORY_LIMIT) state.undo.shift();
    state.redo = [];
    updateHistoryButtons();
  }

  /** One step through the history: the canvas as it is goes on `to`, and the newest state on `from` is shown. */
  function step(from, to) {
    if (state.stroke || !from.length) return;
    to.push(snapshot());
    ctx.putImageData(from.pop(), 0, 0);
    updateHistoryButtons();
    scheduleRefresh();
  }

  function undo() {
    step(state.undo, state.redo);
  }

  function redo() {
    step(state.redo, state.undo);
  }

  function updateHistoryButtons() {
    ui.undo.disabled = !state.undo.length;
    ui.redo.disabled = !state.redo.length;
  }

  function clearCanvas() {
    endStroke();
    pushUndo();
    fillBlank();
    scheduleRefresh();
  }

  /** Draws an image scaled to fit the canvas, centred on the blank colour. Label maps are scaled by nearest
   * neighbour and then snapped to the palette, so that they hold nothing but exact class colours. */
  function drawFitted(image) {
    const size = ui.canvas.width;
    const scale = Math.min(size / image.width, size / image.height);
    const w = Math.max(1, Math.round(image.width * scale));
    const h = Math.max(1, Math.round(image.height * scale));
    fillBlank();
    ctx.imageSmoothingEnabled = !state.palette;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(image, Math.floor((size - w) / 2), Math.floor((size - h) / 2), w, h);
    ctx.imageSmoothingEnabled = true;
    if (state.palette) snapToPalette();
  }

  /** Replaces every pixel by the nearest palette colour (a JPEG-ish label map has many colours in between). */
  function snapToPalette() {
    const image = snapshot();
    const data = image.data;
    const nearest = new Map();
    for (let i = 0; i < data.length; i += 4) {
      const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      let rgb = nearest.get(key);
      if (!rgb) {
        rgb = closestColor(data[i], data[i + 1], data[i + 2]);
        nearest.set(key, rgb);
      }
      data[i] = rgb[0];
      data[i + 1] = rgb[1];
      data[i + 2] = rgb[2];
      data[i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  function closestColor(r, g, b) {
    let best = state.palette[0].rgb;
    let bestDistance = Infinity;
    for (const { rgb } of state.palette) {
      const distance = (rgb[0] - r) ** 2 + (rgb[1] - g) ** 2 + (rgb[2] - b) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [rgb, distance];
    }
    return best;
  }

  // --- drawing -----------------------------------------------------------------------------------------------------

  /** The pointer's position in canvas pixels (the canvas is shown larger than it is). */
  function canvasPoint(event) {
    const box = ui.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * ui.canvas.width) / box.width,
      y: ((event.clientY - box.top) * ui.canvas.height) / box.height,
    };
  }

  function penSize() {
    return Number(ui.penSize.value) || PEN_SIZE.sketch;
  }

  function paintColor() {
    if (state.palette) return state.palette[state.colorIndex].color;
    return state.tool === 'eraser' ? WHITE : INK;
  }

  function onPointerDown(event) {
    if (state.stroke || !state.model || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();
    ui.canvas.focus({ preventScroll: true });
    clearTimeout(state.timer); // no refresh in the middle of a stroke
    const point = canvasPoint(event);
    if (state.tool === 'fill') {
      fillAt(point);
      return;
    }
    ui.canvas.setPointerCapture(event.pointerId);
    const before = snapshot();
    pushUndo(before);
    state.stroke = { id: event.pointerId, tool: state.tool, start: point, last: point, before };
    if (state.tool === 'rect') drawRect(point, point);
    else drawDot(point);
  }

  function onPointerMove(event) {
    const stroke = state.stroke;
    if (!stroke || event.pointerId !== stroke.id) return;
    event.preventDefault();
    // Coalesced events keep fast strokes smooth: the browser may merge several moves into one event.
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) {
      const point = canvasPoint(e);
      if (stroke.tool === 'rect') {
        ctx.putImageData(stroke.before, 0, 0); // the rectangle follows the pointer until released
        drawRect(stroke.start, point);
      } else {
        drawSegment(stroke.last, point);
      }
      stroke.last = point;
    }
  }

  function onPointerUp(event) {
    const stroke = state.stroke;
    if (!stroke || event.pointerId !== stroke.id) return;
    if (event.type === 'pointerup') onPointerMove(event);
    endStroke();
    scheduleRefresh();
  }

  function endStroke() {
    const stroke = state.stroke;
    if (!stroke) return;
    state.stroke = null;
    if (ui.canvas.hasPointerCapture(stroke.id)) ui.canvas.releasePointerCapture(stroke.id);
  }

  function drawDot(point) {
    if (state.palette) {
      stamp(Math.floor(point.x), Math.floor(point.y));
      return;
    }
    ctx.fillStyle = paintColor();
    ctx.beginPath();
    ctx.arc(point.x, point.y, penSize() / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function drawSegment(from, to) {
    if (state.palette) {
      stampLine(from, to);
      return;
    }
    ctx.strokeStyle = paintColor();
    ctx.lineWidth = penSize();
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  }

  /** One square of the label brush: integer pixels in an exact palette colour (no anti-aliasing). */
  function stamp(x, y) {
    const size = penSize();
    const half = Math.floor(size / 2);
    ctx.fillStyle = paintColor();
    ctx.fillRect(x - half, y - half, size, size);
  }

  /** Stamps the label brush at every pixel of the line from `from` to `to` (Bresenham). */
  function stampLine(from, to) {
    let x = Math.floor(from.x);
    let y = Math.floor(from.y);
    const x1 = Math.floor(to.x);
    const y1 = Math.floor(to.y);
    const dx = Math.abs(x1 - x);
    const dy = -Math.abs(y1 - y);
    const sx = x < x1 ? 1 : -1;
    const sy = y < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      stamp(x, y);
      if (x === x1 && y === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }

  /** A filled rectangle between two corners, on whole pixels, clipped to the canvas. */
  function drawRect(a, b) {
    const size = ui.canvas.width;
    const clamp = (v) => Math.min(size - 1, Math.max(0, Math.floor(v)));
    const [x0, x1] = [clamp(a.x), clamp(b.x)].sort((p, q) => p - q);
    const [y0, y1] = [clamp(a.y), clamp(b.y)].sort((p, q) => p - q);
    ctx.fillStyle = paintColor();
    ctx.fillRect(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
  }

  /** Flood fill: the 4-connected region of exactly the clicked pixel's colour takes the chosen colour. */
  function fillAt(point) {
    const width = ui.canvas.width;
    const height = ui.canvas.height;
    const x = Math.floor(point.x);
    const y = Math.floor(point.y);
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const image = snapshot();
    const pixels = new Uint32Array(image.data.buffer);
    const target = pixels[y * width + x];
    const [r, g, b] = hexToRgb(paintColor());
    const bytes = new Uint8ClampedArray([r, g, b, 255]);
    const replacement = new Uint32Array(bytes.buffer)[0]; // same byte order as the image's pixels
    if (target === replacement) return;
    pushUndo();
    // Scanline fill: each stack entry is a seed; fill its whole run on the row, then seed the rows above and below.
    const stack = [y * width + x];
    while (stack.length) {
      const seed = stack.pop();
      const row = Math.floor(seed / width);
      let left = seed;
      while (left % width > 0 && pixels[left - 1] === target) left -= 1;
      let right = seed;
      while ((right % width) < width - 1 && pixels[right + 1] === target) right += 1;
      for (let i = left; i <= right; i += 1) {
        pixels[i] = replacement;
        if (row > 0 && pixels[i - width] === target) stack.push(i - width);
        if (row < height - 1 && pixels[i + width] === target) stack.push(i + width);
      }
    }
    ctx.putImageData(image, 0, 0);
    scheduleRefresh();
  }

  // --- talking to the server -------------------------------------------------------------------------------------

  function scheduleRefresh(delay = DEBOUNCE_MS) {
    clearTimeout(state.timer);
    setStatus('busy', 'Working…');
    state.timer = setTimeout(() => runInference(null), delay);
  }

  function refreshNow() {
    clearTimeout(state.timer);
    runInference(null);
  }

  /** Sends `body` (default: the canvas as a PNG) to the current model, translate and classify in parallel, and shows
   * the answers unless a newer request came after it. Resolves to true when its answers were shown. */
  async function runInference(body) {
    clearTimeout(state.timer);
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const model = state.model;
    const direction = state.direction;
    setStatus('busy', 'Working…');
    try {
      const input = body || (await canvasBlob());
      if (seq !== state.seq) return false;
      const started = performance.now();
      const translation = model.kind === 'translator' ? translate(model, direction, input, controller.signal) : null;
      const classified = classifiersFor(model).map((c) => classify(c, input, controller.signal));
      const [output, ...groups] = await Promise.all([translation, ...classified]);
      if (seq !== state.seq) return false; // a newer drawing was sent meanwhile
      const roundTrip = performance.now() - started;
      if (output) showOutput(output, model, direction);
      if (groups.length) showCategories(groups);
      showTiming(roundTrip, output, groups);
      hideError();
      setStatus('done', 'Done');
      return true;
    } catch (err) {
      if (seq !== state.seq || err.name === 'AbortError') return false;
      ui.timing.textContent = '';
      showError(err.message);
      return false;
    } finally {
      if (state.controller === controller) state.controller = null;
    }
  }

  function canvasBlob() {
    return new Promise((resolve, reject) => {
      ui.canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('cannot encode the canvas'))), 'image/png');
    });
  }

  async function translate(model, direction, body, signal) {
    const query = direction ? `?direction=${encodeURIComponent(direction)}` : '';
    const response = await post(model.translate_url + query, body, signal);
    const blob = await response.blob();
    return {
      blob,
      inferenceMs: parseFloat(response.headers.get('X-Inference-Ms')),
      queueMs: parseFloat(response.headers.get('X-Queue-Ms')),
    };
  }

  async function classify(classifier, body, signal) {
    const response = await post(`${classifier.classify_url}?top_k=${TOP_K}`, body, signal);
    const answer = await response.json();
    return { name: classifier.name, predictions: answer.predictions || [], inferenceMs: answer.inference_ms };
  }

  /** POSTs `body` as the raw request body; throws an Error whose message says in words what went wrong. */
  async function post(url, body, signal) {
    let response;
    try {
      response = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': body.type || 'application/octet-stream' },
        signal,
        cache: 'no-store',
      });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new Error(unreachableMessage(body));
    }
    if (!response.ok) throw await responseError(response);
    return response;
  }

  async function getJson(url) {
    let response;
    try {
      response = await fetch(url, { cache: 'no-store' });
    } catch (err) {
      throw new Error('cannot reach the server');
    }
    if (!response.ok) throw await responseError(response);
    return response.json();
  }

  /** The server's one-line `detail`, worded for a person. */
  async function responseError(response) {
    let detail = '';
    try {
      detail = (await response.json()).detail;
    } catch (err) {
      detail = '';
    }
    if (typeof detail !== 'string' || !detail) detail = `the server answered ${response.status} ${response.statusText}`;
    if (response.status === 503) {
      const retry = response.headers.get('Retry-After');
      return new Error(`server busy: ${detail}${retry ? `; retry in ${retry} s` : ''}`);
    }
    return new Error(detail);
  }

  /** A failed connection. The server refuses a body over its limit at once and closes the connection, and a browser
   * still sending may then see only the closed connection: say what the server would have said. */
  function unreachableMessage(body) {
    const limit = state.limits.max_upload_bytes;
    if (limit && body.size > limit) {
      return `upload too large: ${body.size.toLocaleString('en')} bytes is over this server's limit of ` +
        `${+(limit / 2 ** 20).toFixed(2)} MB (${limit.toLocaleString('en')} bytes)`;
    }
    return 'cannot reach the server';
  }

  // --- showing answers -----------------------------------------------------------------------------------------

  function showOutput(result, model, direction) {
    const previous = state.output;
    const url = URL.createObjectURL(result.blob);
    state.output = { blob: result.blob, url };
    ui.output.src = url;
    ui.output.dataset.model = model.name;
    ui.output.dataset.direction = direction || '';
    ui.output.alt = `What ${model.name} makes of your input`;
    ui.output.hidden = false;
    ui.placeholder.hidden = true;
    ui.downloadOutput.disabled = false;
    ui.downloadPair.disabled = false;
    if (previous) URL.revokeObjectURL(previous.url);
  }

  function clearOutput() {
    if (state.output) URL.revokeObjectURL(state.output.url);
    state.output = null;
    ui.output.removeAttribute('src');
    ui.output.hidden = true;
    ui.placeholder.hidden = false;
    ui.downloadOutput.disabled = true;
    ui.downloadPair.disabled = true;
  }

  /** One row per category: its name, a bar as wide as its probability and the percentage. */
  function showCategories(groups) {
    const rows = [];
    for (const group of groups) {
      if (groups.length > 1) {
        const title = document.createElement('div');
        title.className = 'group-title';
        title.textContent = group.name;
        rows.push(title);
      }
      for (const { label, probability } of group.predictions) rows.push(categoryRow(label, probability));
    }
    ui.categories.replaceChildren(...rows);
  }

  function categoryRow(label, probability) {
    const percent = Math.round(probability * 100);
    const row = document.createElement('div');
    row.className = 'category';
    row.dataset.testid = 'category';
    row.dataset.label = label;
    row.dataset.probability = String(probability);
    const name = document.createElement('span');
    name.className = 'label';
    name.textContent = prettyName(label);
    name.title = label;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${Math.max(0, Math.min(100, probability * 100))}%`;
    bar.append(fill);
    const value = document.createElement('span');
    value.className = 'percent';
    value.textContent = `${percent} %`;
    // The spaces keep the row's text readable ("teapot 98 %") for screen readers and copy and paste.
    row.append(name, document.createTextNode(' '), bar, document.createTextNode(' '), value);
    return row;
  }

  function showTiming(roundTrip, output, groups) {
    const parts = [];
    if (output && Number.isFinite(output.inferenceMs)) parts.push(`model ${Math.round(output.inferenceMs)} ms`);
    for (const group of groups) {
      if (Number.isFinite(group.inferenceMs)) parts.push(`${group.name} ${Math.round(group.inferenceMs)} ms`);
    }
    if (output && output.queueMs >= 1) parts.push(`queued ${Math.round(output.queueMs)} ms`);
    ui.timing.textContent = `took ${Math.round(roundTrip)} ms${parts.length ? ` (${parts.join(', ')})` : ''}`;
  }

  function setStatus(stateName, text) {
    ui.status.dataset.state = stateName;
    ui.status.textContent = text;
  }

  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = false;
    setStatus('error', 'Something went wrong');
  }

  function hideError() {
    ui.error.hidden = true;
    ui.error.textContent = '';
  }

  // --- examples and uploads ------------------------------------------------------------------------------------

  async function onExampleChosen() {
    const url = ui.examplePicker.value;
    ui.examplePicker.value = ''; // so the same example can be chosen again
    if (!url) return;
    const model = state.model;
    setStatus('busy', 'Loading the example…');
    let image;
    try {
      let response;
      try {
        response = await fetch(url);
      } catch (err) {
        throw new Error('cannot reach the server');
      }
      if (!response.ok) throw await responseError(response);
      image = await createImageBitmap(await response.blob());
    } catch (err) {
      if (model === state.model) showError(`cannot load the example: ${err.message}`);
      return;
    }
    if (model !== state.model || state.stroke) {
      image.close();
      return;
    }
    pushUndo();
    drawFitted(image);
    image.close();
    refreshNow();
  }

  /** An uploaded (chosen, dropped or pasted) image goes to the server as it is first, so that the server's limits
   * apply; only when the server took it does the canvas show it (as a new, undoable state). */
  async function uploadFile(file) {
    if (!file || !state.model) return;
    endStroke();
    const model = state.model;
    const decoded = createImageBitmap(file).catch(() => null); // the browser may not read every type the server does
    const shown = await runInference(file);
    const image = await decoded;
    if (!shown || model !== state.model || state.stroke) {
      if (image) image.close();
      return;
    }
    if (!image) {
      setStatus('done', 'Done: this browser cannot show the uploaded image, so the canvas is unchanged');
      return;
    }
    pushUndo();
    drawFitted(image);
    image.close();
  }

  function onPaste(event) {
    const items = event.clipboardData ? Array.from(event.clipboardData.items) : [];
    const item = items.find((i) => i.kind === 'file' && i.type.startsWith('image/'));
    if (!item) return;
    event.preventDefault();
    uploadFile(item.getAsFile());
  }

  function wireDragAndDrop() {
    const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types).includes('Files');
    const wrap = ui.canvasWrap;
    wrap.addEventListener('dragenter', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      wrap.classList.add('dragging');
    });
    wrap.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      wrap.classList.add('dragging');
    });
    wrap.addEventListener('dragleave', (event) => {
      if (!wrap.contains(event.relatedTarget)) wrap.classList.remove('dragging');
    });
    wrap.addEventListener('drop', (event) => {
      event.preventDefault();
      wrap.classList.remove('dragging');
      const file = event.dataTransfer.files && event.dataTransfer.files[0];
      uploadFile(file);
    });
    // A file dropped beside the canvas must not replace the page with the file.
    window.addEventListener('dragover', (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
    window.addEventListener('drop', (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
  }

  // --- keyboard and downloads ----------------------------------------------------------------------------------

  function onKeyDown(event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const target = event.target;
    if (target && target.closest && target.closest('textarea, input[type="text"], [contenteditable]')) return;
    const key = event.key.toLowerCase();
    if (key === 'z' && !event.shiftKey) undo();
    else if ((key === 'z' && event.shiftKey) || key === 'y') redo();
    else return;
    event.preventDefault();
  }

  function downloadOutput() {
    if (!state.output) return;
    saveBlob(state.output.blob, `${state.model.name}-output.png`);
  }

  /** The input and the output side by side, at the canvas's height, as one PNG. */
  function downloadPair() {
    if (!state.output || !ui.output.naturalWidth) return;
    const size = ui.canvas.height;
    const outputWidth = Math.max(1, Math.round((ui.output.naturalWidth * size) / ui.output.naturalHeight));
    const pair = document.createElement('canvas');
    pair.width = ui.canvas.width + outputWidth;
    pair.height = size;
    const pairCtx = pair.getContext('2d');
    pairCtx.fillStyle = WHITE;
    pairCtx.fillRect(0, 0, pair.width, pair.height);
    pairCtx.drawImage(ui.canvas, 0, 0);
    pairCtx.drawImage(ui.output, ui.canvas.width, 0, outputWidth, size);
    const name = `${state.model.name}-input-output.png`;
    pair.toBlob((blob) => blob && saveBlob(blob, name), 'image/png');
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // --- small helpers -------------------------------------------------------------------------------------------

  function hexToRgb(hex) {
    const value = parseInt(hex.replace('#', ''), 16);
    return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
  }

  /** "teddy_bear_1.png" -> "teddy bear 1" */
  function prettyName(name) {
    return name.replace(/\.(png|jpe?g|webp)$/i, '').replace(/_/g, ' ');
  }

  start();
})();
