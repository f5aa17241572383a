// SLA clocks: every <time class="countdown" datetime="..."> counts down to its due time, then shows how long
// it has been overdue. Re-run after htmx swaps a live region in.
function span(ms) {
  const total = Math.floor(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  return h > 0 ? `${h}h ${m}m` : `${m}m ${String(s).padStart(2, '0')}s`;
}

function tick() {
  for (const clock of document.querySelectorAll('time.countdown')) {
    const left = Date.parse(clock.dateTime) - Date.now();
    if (Number.isNaN(left)) continue;
    clock.textContent = left >= 0 ? `in ${span(left)}` : `overdue ${span(-left)}`;
    clock.classList.toggle('overdue', left < 0);
  }
}

tick();
setInterval(tick, 1000);
document.addEventListener('htmx:afterSwap', tick);
