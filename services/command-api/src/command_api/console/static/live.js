// The console's live connection: follows /console/stream (the API's stream of accepted events, as SSE), shows
// its state in #live-state, and re-fetches the page's live regions ([data-live-refresh]) through htmx when an
// event arrives. A dropped connection resumes where it stopped: the browser sends Last-Event-ID, and when it
// gives up, this module reopens it with ?after=<last id>. The page says from which position it was rendered
// (data-stream-after), so nothing committed between the render and the connection is missed.
const state = document.getElementById('live-state');
const EVENT_TYPES = [
  'logged', 'categorized', 'prioritized', 'assigned', 'acknowledged', 'investigation_started', 'note_added',
  'put_on_hold', 'resumed', 'major_declared', 'escalated', 'sla_targets_set', 'sla_breached',
  'stakeholder_update_posted', 'notification_sent', 'notification_failed', 'alert_correlated', 'alerts_recorded',
  'linked', 'resolved', 'reopened', 'closed', 'paged', 'review_completed',
].map((name) => `incident.${name}`);
let lastId = state?.dataset.streamAfter ?? null;
let retryMs = 1000;
let pending = null;

function show(name, text) {
  if (!state) return;
  state.dataset.state = name;
  state.textContent = text;
}

function regionUrl(region) {
  const formId = region.dataset.liveForm;
  const form = formId ? document.getElementById(formId) : null;
  return form ? `${region.dataset.liveRefresh}?${new URLSearchParams(new FormData(form))}` : region.dataset.liveRefresh;
}

function refresh() {
  clearTimeout(pending);
  pending = setTimeout(() => {
    for (const region of document.querySelectorAll('[data-live-refresh]')) {
      const swap = region.dataset.liveForm ? 'outerHTML' : 'innerHTML';
      window.htmx.ajax('GET', regionUrl(region), { target: region, swap });
    }
  }, 50);
}

function received(event) {
  lastId = event.lastEventId || lastId;
  if (state) state.dataset.lastEventId = lastId;
  refresh();
}

async function signedOut() {
  const answer = await fetch('/console/queue', { headers: { 'HX-Request': 'true' } }).catch(() => null);
  return answer !== null && answer.status === 401;
}

function connect() {
  const incident = document.querySelector('[data-live-incident]')?.dataset.liveIncident;
  const params = new URLSearchParams();
  if (incident) params.set('incident', incident);
  if (lastId !== null) params.set('after', lastId);
  const source = new EventSource(`/console/stream?${params}`);
  source.onopen = () => {
    show('live', 'live');
    retryMs = 1000;
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, received);
  source.onerror = async () => {
    if (source.readyState !== EventSource.CLOSED) {
      show('reconnecting', 'reconnecting…');
      return;
    }
    if (await signedOut()) {
      show('signed-out', 'session ended: sign in again');
      window.location.assign('/console/sign-in?ended=1');
      return;
    }
    show('offline', 'offline, retrying…');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
}

if (state) connect();
