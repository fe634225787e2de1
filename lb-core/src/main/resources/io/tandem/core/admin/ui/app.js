// Tandem dashboard. Vanilla JS, no build step, nothing loaded from elsewhere: it reads this
// node's admin API (same origin) and nothing else. GET /api/node every second, /api/ha and
// /api/reloads less often; the backend buttons POST with no body and no Content-Type, so the
// API's browser guard (same Origin, Sec-Fetch-Site same-origin, no form type) lets them through.
'use strict';

(function () {
  const TOKEN_KEY = 'tandem.token';
  const NODE_EVERY_MS = 1000;
  const HA_EVERY_MS = 2000;
  const RELOADS_EVERY_MS = 5000;
  const WINDOW_MS = 10 * 60 * 1000; // health timeline window
  const $ = (id) => document.getElementById(id);

  const state = {
    node: null, ha: null, haAbsent: false, reloads: [], lastOk: 0, failing: false,
    generation: -1, lastHa: 0, lastReloads: 0, busy: new Set(),
  };

  // ------------------------------------------------------------------ helpers

  function esc(v) {
    return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }
  function bytes(n) {
    if (!Number.isFinite(n)) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + u[i];
  }
  function count(n) { return Number.isFinite(n) ? n.toLocaleString('en-US') : '–'; }
  function time(ms) {
    const d = new Date(ms);
    return d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  }
  /** 2026-03-01 10:05:30, local time: no locale-dependent day/month order. */
  function stamp(ms) {
    const d = new Date(ms);
    const p = (x) => String(x).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':'
      + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }
  function ago(ms) {
    const s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 1) return 'just now';
    if (s < 90) return Math.round(s) + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    return Math.round(s / 3600) + ' h ago';
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  function headers() {
    const t = token();
    return t ? { Authorization: 'Bearer ' + t } : {};
  }

  /** GET/POST on this API; resolves to {status, body}. Throws only on network errors. */
  async function api(path, method) {
    const res = await fetch(path, { method: method || 'GET', headers: headers(), cache: 'no-store', credentials: 'omit' });
    let body = null;
    const type = res.headers.get('Content-Type') || '';
    if (type.startsWith('application/json')) {
      try { body = await res.json(); } catch (e) { body = null; }
    } else {
      body = await res.text();
    }
    if (res.status === 401) needToken(body && body.error);
    return { status: res.status, body };
  }

  // Replaces an element's HTML only when it changed, and gives focus back to the control that
  // had it (data-key), so a keyboard user is not thrown out every second.
  function put(el, html) {
    if (el.__html === html) return;
    const active = document.activeElement;
    const key = active && el.contains(active) ? active.getAttribute('data-key') : null;
    el.innerHTML = html;
    el.__html = html;
    if (key) {
      const again = el.querySelector('[data-key="' + CSS.escape(key) + '"]');
      if (again) again.focus();
    }
  }

  // ------------------------------------------------------------------ token

  function needToken(reason) {
    const form = $('token-form');
    if (form.hidden) {
      form.hidden = false;
      $('token-input').focus();
    }
    $('token-error').textContent = token() ? 'The node refused this token (' + (reason || '401') + ').' : '';
  }

  function initToken() {
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('token-input').value.trim();
      if (!v) return;
      sessionStorage.setItem(TOKEN_KEY, v);
      $('token-input').value = '';
      $('token-form').hidden = true;
      $('token-error').textContent = '';
      tick(true);
    });
    $('token-clear').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      $('token-error').textContent = '';
      $('token-input').focus();
    });
    $('token-button').addEventListener('click', () => {
      const form = $('token-form');
      form.hidden = !form.hidden;
      if (!form.hidden) $('token-input').focus();
    });
  }

  // ------------------------------------------------------------------ header

  function renderFacts(n) {
    $('node-name').textContent = n.node;
    document.title = 'Tandem · ' + n.node;
    const ready = n.draining ? ['draining', 's-draining'] : n.warming ? ['warming', 's-warming']
      : n.ready ? ['ready', 's-ok'] : ['not ready', 's-down'];
    const facts = [
      ['state', '<span class="pill ' + ready[1] + '">' + ready[0] + '</span>'],
      ['transport', esc(n.transport)],
      ['config', '#' + esc(n.configGeneration) + ' <span class="small">' + esc(n.configSource) + ', ' + esc(ago(Date.parse(n.configLoadedAt))) + '</span>'],
      ['up since', esc(stamp(Date.parse(n.startedAt)))],
    ];
    put($('facts'), facts.map(([k, v]) => '<div><dt>' + k + '</dt><dd>' + v + '</dd></div>').join(''));
  }

  // ------------------------------------------------------------------ VIPs

  function vipState(v) {
    if (!v.listening) return ['NOT-LISTENING', 's-not-listening'];
    if (v.panic) return ['PANIC', 's-panic'];
    if (v.warming) return ['warming', 's-warming'];
    return ['ok', 's-ok'];
  }

  function renderVips(n) {
    if (!n.vips.length) {
      put($('vips'), '<p class="muted">No VIP configured.</p>');
      return;
    }
    put($('vips'), n.vips.map(renderVip).join(''));
  }

  function renderVip(v) {
    const [word, cls] = vipState(v);
    const id = 'vip-' + v.name.replace(/[^A-Za-z0-9_-]/g, '_');
    const head = '<header><h3 id="' + esc(id) + '">' + esc(v.name) + '</h3>'
      + '<span class="pill ' + cls + '" data-vip-state="' + esc(v.name) + '">' + word + '</span>'
      + kv('listen', v.listen) + kv('proto', v.protocol) + kv('policy', v.policy)
      + kv('eligible', v.eligible + '/' + v.backends.length)
      + kv('active', count(v.activeConnections)) + kv('total', count(v.totalConnections))
      + kv('received', bytes(v.bytesIn)) + kv('sent', bytes(v.bytesOut))
      + (v.connectRetries ? kv('retries', count(v.connectRetries)) : '')
      + (v.noBackend ? kv('no backend', count(v.noBackend)) : '')
      + (v.limitHits ? kv('limit hits', count(v.limitHits)) : '')
      + '</header>';
    const rows = v.backends.map((b) => renderBackend(v, b)).join('');
    return '<div class="vip" data-vip="' + esc(v.name) + '">' + head
      + '<table aria-labelledby="' + esc(id) + '"><thead><tr>'
      + '<th scope="col">Backend</th><th scope="col">State</th><th scope="col">Flags</th>'
      + '<th scope="col" class="num">Weight</th><th scope="col">Origin</th>'
      + '<th scope="col" class="num">Active</th><th scope="col" class="num">Total</th>'
      + '<th scope="col" class="num" title="bytes received from the backend">Received</th>'
      + '<th scope="col" class="num" title="bytes sent to the backend">Sent</th>'
      + '<th scope="col" class="num">Conn. fail</th><th scope="col">Last change</th><th scope="col">Actions</th>'
      + '</tr></thead><tbody>' + (rows || '<tr><td colspan="12" class="muted">no backend</td></tr>') + '</tbody></table></div>';
  }

  function kv(k, v) { return '<span class="kv">' + k + ' <b>' + esc(v) + '</b></span>'; }

  function renderBackend(v, b) {
    const last = b.recentTransitions.length ? b.recentTransitions[b.recentTransitions.length - 1] : null;
    const key = v.name + '|' + b.address;
    const busy = state.busy.has(key);
    const operator = b.flags.includes('DRAINING') || b.flags.includes('DISABLED');
    const button = (action, label, disabled) => '<button type="button" data-action="' + action + '" data-vip="' + esc(v.name)
      + '" data-backend="' + esc(b.address) + '" data-key="' + esc(action + '|' + key) + '"'
      + ' aria-label="' + esc(label + ' backend ' + b.address + ' of VIP ' + v.name) + '"'
      + (disabled || busy ? ' disabled' : '') + '>' + label + '</button>';
    return '<tr data-backend="' + esc(b.address) + '">'
      + '<th scope="row" class="mono">' + esc(b.address) + '</th>'
      + '<td><span class="pill s-' + esc(b.state) + '" data-state>' + esc(b.state) + '</span></td>'
      + '<td class="flags">' + (b.flags.length ? esc(b.flags.join(', ')) : '–') + '</td>'
      + '<td class="num"' + ((b.runtime || []).includes('weight') ? ' title="set at run time (until a reload changes this VIP\'s backends)">' + esc(b.weight) + '*' : '>' + esc(b.weight)) + '</td>'
      + '<td class="mono small">' + esc(b.origin) + '</td>'
      + '<td class="num">' + count(b.activeConnections) + '</td>'
      + '<td class="num">' + count(b.totalConnections) + '</td>'
      + '<td class="num">' + bytes(b.bytesIn) + '</td>'
      + '<td class="num">' + bytes(b.bytesOut) + '</td>'
      + '<td class="num">' + count(b.connectFailures) + '</td>'
      + '<td class="small">' + (last ? esc((last.set ? '+' : '−') + last.flag + ' ' + ago(Date.parse(last.at))) : '–') + '</td>'
      + '<td><div class="actions">'
      + button('drain', 'Drain', b.flags.includes('DRAINING'))
      + button('disable', 'Disable', b.flags.includes('DISABLED'))
      + button('enable', 'Enable', !operator)
      + button('weight', 'Weight', false)
      + '</div></td></tr>';
  }

  async function act(btn) {
    const vip = btn.getAttribute('data-vip');
    const backend = btn.getAttribute('data-backend');
    const action = btn.getAttribute('data-action');
    const key = vip + '|' + backend;
    let path = '/api/vips/' + encodeURIComponent(vip) + '/backends/' + encodeURIComponent(backend) + '/' + action;
    if (action === 'weight') {
      // The node validates (0..256) and answers with the reason; the page only asks.
      const w = window.prompt('New weight for ' + backend + ' of ' + vip + ' (0..256; 0 takes no new connections):');
      if (w === null || w.trim() === '') return;
      path += '?value=' + encodeURIComponent(w.trim());
    }
    state.busy.add(key);
    btn.disabled = true;
    try {
      const r = await api(path, 'POST');
      if (r.status === 200) {
        notice(action + ' ' + backend + ' of ' + vip + ': now ' + (action === 'weight' ? 'weight ' + r.body.weight + ', ' : '') + r.body.state, false);
      } else {
        notice(action + ' ' + backend + ' of ' + vip + ' failed: ' + r.status + ' ' + ((r.body && r.body.error) || ''), true);
      }
    } catch (e) {
      notice(action + ' failed: ' + e.message, true);
    } finally {
      state.busy.delete(key);
      tick(true);
    }
  }

  function notice(text, bad) {
    const el = $('notice');
    el.textContent = text;
    el.style.background = bad ? 'var(--down-bg)' : 'var(--up-bg)';
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => { el.textContent = ''; }, 8000);
  }

  // ------------------------------------------------------------------ health timeline

  const FAILING = ['FAILED_ACTIVE_CHECK', 'EJECTED_PASSIVE', 'UNHEALTHY_IN_SOURCE', 'SELF_LOOP', 'UNRESOLVED'];

  /** The colour class of a set of flags (the same precedence as the node's state word). */
  function tone(flags, checked) {
    if (flags.has('DISABLED')) return 'off';
    if (flags.has('DRAINING')) return 'drain';
    if (flags.has('SELF_LOOP') || flags.has('UNRESOLVED') || flags.has('FAILED_ACTIVE_CHECK')) return 'down';
    if (flags.has('EJECTED_PASSIVE') || flags.has('UNHEALTHY_IN_SOURCE')) return 'ejected';
    if (flags.has('PENDING_FIRST_CHECK')) return 'warn';
    return checked ? 'up' : 'warn';
  }

  /** Segments [from, to, flags] over the window, walking the transitions back from the current flags. */
  function segments(b, now, from, known) {
    const ts = b.recentTransitions.map((t) => ({ at: Date.parse(t.at), flag: t.flag, set: t.set }))
      .sort((a, c) => a.at - c.at);
    let flags = new Set(b.flags);
    const out = [];
    let end = now;
    for (let i = ts.length - 1; i >= 0 && end > from; i--) {
      const t = ts[i];
      out.push([Math.max(t.at, from), end, new Set(flags)]);
      if (t.set) flags.delete(t.flag); else flags.add(t.flag);
      end = t.at;
    }
    // Before a backend was added (its first transition sets PENDING_FIRST_CHECK) nothing is known.
    const added = ts.length && ts[0].set && ts[0].flag === 'PENDING_FIRST_CHECK' ? ts[0].at : -Infinity;
    known = Math.max(known, added);
    if (end > from && end > known) out.push([Math.max(from, known), end, new Set(flags)]);
    if (known > from) out.push([from, Math.min(known, end), null]); // before the node started: unknown
    return out.filter(([a, c]) => c > a).reverse();
  }

  function renderHealth(n) {
    const now = Date.now();
    const started = Date.parse(n.startedAt);
    // The last ten minutes, or since the start (at least 15 s): a young node's events stay readable.
    const from = Math.min(now - 15000, Math.max(now - WINDOW_MS, started));
    const span = now - from;
    $('health-window').textContent = '(last ' + (span < 90000 ? Math.round(span / 1000) + ' s)' : Math.round(span / 60000) + ' min)');
    const lanes = [];
    const events = [];
    for (const v of n.vips) {
      for (const b of v.backends) {
        const checked = b.state !== 'unchecked';
        const rects = segments(b, now, from, started).map(([a, c, f]) => {
          const x = ((a - from) / span) * 1000;
          const w = Math.max(1, ((c - a) / span) * 1000);
          const t = f ? tone(f, checked) : 'none';
          const what = !f ? 'not running' : f.size ? [...f].join(', ') : (checked ? 'up' : 'unchecked');
          return '<rect class="f-' + t + '" x="' + x.toFixed(1) + '" y="0" width="' + w.toFixed(1) + '" height="14"><title>'
            + esc(v.name + ' ' + b.address + ': ' + what + ' from ' + time(a)) + '</title></rect>';
        }).join('');
        lanes.push('<div class="lane-label mono" title="' + esc(v.name + ' ' + b.address) + '">' + esc(v.name) + ' ' + esc(b.address) + '</div>'
          + '<div class="lane"><svg viewBox="0 0 1000 14" preserveAspectRatio="none" role="img" aria-label="'
          + esc('health of ' + b.address + ' in ' + v.name + ' now ' + b.state) + '">' + rects + '</svg></div>');
        for (const t of b.recentTransitions) {
          events.push({ at: Date.parse(t.at), vip: v.name, backend: b.address, t });
        }
      }
    }
    const legend = '<div class="legend" aria-hidden="true">'
      + [['up', 'up'], ['down', 'down / self-loop / unresolved'], ['ejected', 'ejected / unhealthy in source'],
        ['warn', 'pending / unchecked'], ['drain', 'draining'], ['off', 'disabled']]
        .map(([c, l]) => '<span><i class="b-' + c + '"></i>' + l + '</span>').join('') + '</div>';
    const axis = '<div></div><div class="axis"><span>' + time(from) + '</span><span>' + time(from + span / 2)
      + '</span><span>now</span></div>';
    put($('health-timeline'), lanes.length ? '<div class="lanes">' + lanes.join('') + axis + '</div>' + legend
      : '<p class="muted">No backend.</p>');
    events.sort((a, c) => c.at - a.at);
    put($('health-events'), events.length ? '<table><thead><tr><th scope="col">Time</th><th scope="col">VIP</th>'
      + '<th scope="col">Backend</th><th scope="col">Flag</th><th scope="col">Reason</th></tr></thead><tbody>'
      + events.map((e) => '<tr><td class="mono">' + time(e.at) + '</td><td>' + esc(e.vip) + '</td><td class="mono">'
        + esc(e.backend) + '</td><td>' + (e.t.set ? 'set ' : 'cleared ') + esc(e.t.flag) + '</td><td class="wrap">'
        + esc(e.t.reason) + '</td></tr>').join('') + '</tbody></table>'
      : '<p class="muted">No transition yet.</p>');
  }

  // ------------------------------------------------------------------ HA

  function renderHa(ha) {
    $('ha-section').hidden = !ha;
    if (!ha) return;
    const now = Date.now();
    const events = (ha.recentEvents || []).slice().sort((a, c) => a.atEpochMillis - c.atEpochMillis);
    const from = Math.min(now - WINDOW_MS, ...events.map((e) => e.atEpochMillis));
    const span = Math.max(1, now - from);
    const peers = (ha.peers || []).map((p) => '<tr><th scope="row">' + esc(p.nodeId) + '</th><td><span class="pill '
      + (p.linkUp ? 's-ok">link up' : 's-down">link down') + '</span></td><td class="num">'
      + (p.lastHeartbeatAgoMs < 0 ? '–' : esc(p.lastHeartbeatAgoMs) + ' ms') + '</td><td>' + esc(p.lastLinkLoss || '–')
      + '</td><td>' + esc(Object.entries(p.held || {}).map(([a, e]) => a + ' (epoch ' + e + ')').join(', ') || '–') + '</td></tr>').join('');
    const rows = (ha.vipAddresses || []).map((v) => {
      const owner = v.servedHere ? ha.nodeId : (v.zkOwner || null);
      return '<tr data-address="' + esc(v.address) + '"><th scope="row" class="mono">' + esc(v.address) + '</th><td>'
        + (owner ? esc(owner) : '<span class="pill s-down">no owner</span>') + '</td><td>' + esc(v.preferredOwner)
        + '</td><td>' + (v.servedHere ? '<span class="pill s-ok">here</span>' : '–') + '</td><td class="num">' + esc(v.epoch)
        + '</td><td>' + (v.sinceEpochMillis > 0 ? esc(ago(v.sinceEpochMillis)) : '–') + '</td></tr>';
    }).join('');
    // Takeover history: where this node held each address (from its own acquired/released events).
    const lanes = (ha.vipAddresses || []).map((v) => {
      const mine = events.filter((e) => e.address === v.address);
      let held = false;
      let start = from;
      const segs = [];
      if (mine.length) held = !mine[0].acquired; else held = v.servedHere;
      for (const e of mine) {
        segs.push([start, e.atEpochMillis, held]);
        held = e.acquired;
        start = e.atEpochMillis;
      }
      segs.push([start, now, v.servedHere]);
      const rects = segs.filter(([a, c]) => c > a).map(([a, c, h]) => '<rect class="' + (h ? 'f-up' : 'f-none') + '" x="'
        + (((a - from) / span) * 1000).toFixed(1) + '" y="0" width="' + Math.max(1, ((c - a) / span) * 1000).toFixed(1)
        + '" height="14"><title>' + esc(v.address + (h ? ' served here' : ' not served here') + ' from ' + time(a)) + '</title></rect>').join('');
      const marks = mine.map((e) => '<rect class="' + (e.acquired ? 'f-drain' : 'f-down') + '" x="'
        + (((e.atEpochMillis - from) / span) * 1000).toFixed(1) + '" y="0" width="3" height="14"><title>'
        + esc((e.acquired ? 'acquired' : 'released') + ' ' + e.address + ' (' + e.cause.toLowerCase() + ', epoch ' + e.epoch + ') at '
          + time(e.atEpochMillis)) + '</title></rect>').join('');
      return '<div class="lane-label mono">' + esc(v.address) + '</div><div class="lane"><svg viewBox="0 0 1000 14" '
        + 'preserveAspectRatio="none" role="img" aria-label="' + esc('ownership of ' + v.address + ' by ' + ha.nodeId) + '">'
        + rects + marks + '</svg></div>';
    }).join('');
    const history = events.slice().reverse().map((e) => '<tr><td class="mono">' + time(e.atEpochMillis) + '</td><td class="mono">'
      + esc(e.address) + '</td><td>' + (e.acquired ? 'acquired' : 'released') + '</td><td>' + esc(e.cause.toLowerCase())
      + '</td><td class="num">' + esc(e.epoch) + '</td><td class="num">' + [e.detectMs, e.decideMs, e.addressMs]
        .map((x) => (x < 0 ? '–' : x)).join(' / ') + '</td></tr>').join('');
    put($('ha'), '<p class="small">node <b>' + esc(ha.nodeId) + '</b> · ZooKeeper <span class="pill '
      + (ha.zk === 'CONNECTED' ? 's-ok' : 's-down') + '">' + esc(ha.zk) + '</span></p>'
      + '<table><caption class="muted small">Addresses</caption><thead><tr><th scope="col">Address</th><th scope="col">Owner</th>'
      + '<th scope="col">Preferred</th><th scope="col">Served here</th><th scope="col" class="num">Epoch</th><th scope="col">Since</th>'
      + '</tr></thead><tbody>' + (rows || '<tr><td colspan="6" class="muted">none</td></tr>') + '</tbody></table>'
      + (peers ? '<table><caption class="muted small">Peers</caption><thead><tr><th scope="col">Peer</th><th scope="col">Link</th>'
        + '<th scope="col" class="num">Last heartbeat</th><th scope="col">Last loss</th><th scope="col">Holds</th></tr></thead><tbody>'
        + peers + '</tbody></table>' : '')
      + '<p class="muted small">Takeover history on this node (green: served here; marks: acquired / released)</p>'
      + '<div class="lanes">' + lanes + '<div></div><div class="axis"><span>' + time(from) + '</span><span>now</span></div></div>'
      + (history ? '<details><summary>Ownership changes</summary><table><thead><tr><th scope="col">Time</th><th scope="col">Address</th>'
        + '<th scope="col">Change</th><th scope="col">Cause</th><th scope="col" class="num">Epoch</th>'
        + '<th scope="col" class="num">detect / decide / address ms</th></tr></thead><tbody>' + history + '</tbody></table></details>' : ''));
  }

  // ------------------------------------------------------------------ discovery, reloads, config

  function renderSources(n) {
    if (!n.sources.length) {
      put($('sources'), '<p class="muted">No discovery source: static backends only.</p>');
      return;
    }
    put($('sources'), '<table><thead><tr><th scope="col">Source</th><th scope="col">Upstream</th><th scope="col">Membership</th>'
      + '<th scope="col">Last update</th><th scope="col" class="num">Services</th><th scope="col" class="num">Endpoints</th>'
      + '<th scope="col" class="num">Dropped</th><th scope="col">Last error</th></tr></thead><tbody>'
      + n.sources.map((s) => '<tr data-source="' + esc(s.name) + '"><th scope="row">' + esc(s.name) + '</th><td><span class="pill '
        + (s.connected ? 's-ok">connected' : 's-down">disconnected') + '</span></td><td>'
        + (s.stale ? '<span class="pill s-ejected">stale</span> ' + (s.staleSince ? esc(ago(Date.parse(s.staleSince))) : '') : 'fresh')
        + '</td><td>' + (s.lastEventAt ? esc(ago(Date.parse(s.lastEventAt))) : 'never') + '</td><td class="num">' + count(s.services)
        + '</td><td class="num">' + count(s.endpoints) + '</td><td class="num">' + count(s.droppedEntries) + '</td><td class="wrap small">'
        + esc(s.lastError || '–') + '</td></tr>').join('') + '</tbody></table>');
  }

  function renderReloads() {
    const rs = state.reloads.slice().reverse();
    if (!rs.length) {
      put($('reloads'), '<p class="muted">No reload recorded.</p>');
      return;
    }
    put($('reloads'), '<table><thead><tr><th scope="col">Time</th><th scope="col">By</th><th scope="col">Result</th>'
      + '<th scope="col" class="num">Generation</th><th scope="col">Changes, refusals, restarts needed</th></tr></thead><tbody>'
      + rs.map((r) => {
        const o = r.outcome;
        const lines = [].concat(o.errors.map((x) => '✗ ' + x), o.changes.map((x) => '✓ ' + x),
          o.needsRestart.map((x) => '⟳ ' + x));
        return '<tr><td class="mono">' + esc(stamp(Date.parse(r.at))) + '</td><td>' + esc(r.trigger) + '</td><td>'
          + (o.applied ? '<span class="pill s-ok">applied</span>' : '<span class="pill s-down">rejected</span>') + '</td><td class="num">'
          + esc(o.generation) + '</td><td class="wrap small">' + (lines.length ? lines.map(esc).join('<br>') : 'no change') + '</td></tr>';
      }).join('') + '</tbody></table>');
  }

  async function loadConfig() {
    const r = await api('/api/config');
    $('config').textContent = r.status === 200 ? JSON.stringify(r.body, null, 2)
      : 'GET /api/config: ' + r.status + ' ' + ((r.body && r.body.error) || '');
  }

  // ------------------------------------------------------------------ loop

  function setLive(ok, text) {
    const el = $('live');
    el.className = 'live ' + (ok ? 'ok' : 'bad');
    if (el.textContent !== text) el.textContent = text;
  }

  async function tick(now) {
    clearTimeout(tick.timer);
    try {
      const r = await api('/api/node');
      if (r.status === 200) {
        state.node = r.body;
        state.lastOk = Date.now();
        state.failing = false;
        renderFacts(r.body);
        renderVips(r.body);
        renderHealth(r.body);
        renderSources(r.body);
        const t = Date.now();
        if (!state.haAbsent && (now || t - state.lastHa >= HA_EVERY_MS)) {
          state.lastHa = t;
          const h = await api('/api/ha');
          if (h.status === 404) { state.haAbsent = true; state.ha = null; } else if (h.status === 200) { state.ha = h.body; }
          renderHa(state.ha);
        }
        if (now || r.body.configGeneration !== state.generation || t - state.lastReloads >= RELOADS_EVERY_MS) {
          state.generation = r.body.configGeneration;
          state.lastReloads = t;
          const rl = await api('/api/reloads');
          if (rl.status === 200) { state.reloads = rl.body; renderReloads(); }
        }
        setLive(true, 'live · updated ' + time(state.lastOk));
      } else if (r.status === 401) {
        setLive(false, 'token needed');
      } else {
        setLive(false, 'API answered ' + r.status);
      }
    } catch (e) {
      state.failing = true;
      setLive(false, 'node unreachable' + (state.lastOk ? ' · last update ' + ago(state.lastOk) : ''));
    }
    tick.timer = setTimeout(() => tick(false), NODE_EVERY_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    initToken();
    $('vips').addEventListener('click', (e) => {
      const btn = e.target.closest('button[data-action]');
      if (btn && !btn.disabled) act(btn);
    });
    $('config-details').addEventListener('toggle', (e) => { if (e.target.open) loadConfig(); });
    tick(true);
  });
}());
