// ReDoc for /redoc, from this origin's own copy of redoc's standalone bundle (no CDN, no inline script).
const root = document.getElementById('redoc');
window.Redoc.init(root.dataset.openapiUrl, { hideDownloadButton: false }, root);
