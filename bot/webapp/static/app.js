// Nastavnik: the curator's desk, a Telegram Mini App. One ES module, no framework, no build step.
// Contract: /work/notes/api.md (served by bot/webapp). Every text comes from /api/me (locales/*/webapp.yaml)
// except FALLBACK below, shown before /api/me has answered. The DOM is built with createElement and
// textContent only: data never goes through innerHTML.

// -- texts needed before /api/me (or when it cannot be reached) ----------------------------------------
const FALLBACK = {
  ru: {
    outside: 'Откройте кабинет из чата с ботом в Telegram.',
    offline: 'Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.',
    retry: 'Повторить',
    loading: 'Загрузка…',
  },
  en: {
    outside: 'Open the desk from the chat with the bot in Telegram.',
    offline: 'No connection to the server. Check the internet connection and try again.',
    retry: 'Try again',
    loading: 'Loading…',
  },
};

const INSTITUTION_PAGES = ['participants', 'pairs', 'matching', 'roadmap', 'kpis'];
const SVGNS = 'http://www.w3.org/2000/svg';

const state = {
  init: null, // the raw initData string, sent as "Authorization: tma <initData>"
  me: null,
  texts: {},
  lang: (navigator.language || 'ru').slice(0, 2) === 'en' ? 'en' : 'ru',
  pages: [],
  page: null,
  seq: 0, // bumped by every navigation: late answers of an older page are dropped
  pending: 0, // requests of the current page still running; the page is "ready" when none are
  drawn: false, // the current page has been drawn at least once
  halted: false, // a 401 replaced the whole page
  redraw: null, // the current page's chart redraw on resize
};
const inflight = new Map(); // request key → AbortController
let anonymous = 0;

// -- small DOM helpers ----------------------------------------------------------------------------------
/** el('td', {class: 'x', dataset: {id: 1}, onclick: fn, 'aria-label': '…'}, child, 'text', …) */
function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined && kid !== false) node.append(kid);
  return node;
}
function svg(tag, attrs = {}, ...kids) {
  const node = document.createElementNS(SVGNS, tag);
  setAttrs(node, attrs);
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined && kid !== false) node.append(kid);
  return node;
}
function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.setAttribute('class', v);
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== 'string' && !(node instanceof SVGElement)) node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// -- texts, plurals, numbers, dates ---------------------------------------------------------------------
function t(key, params = {}) {
  let text = state.texts[key];
  if (text === undefined) {
    console.warn('missing text', key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}
/** "5 участников": count.<noun>.one|few|many. Intl says `other` for English plurals and Russian fractions. */
function plural(noun, n) {
  let form = new Intl.PluralRules(state.lang).select(n);
  if (form === 'other' || form === 'two' || form === 'zero') form = state.lang === 'ru' ? 'few' : 'many';
  return t(`count.${noun}.${form}`, { n: num(n) });
}
const num = (n) => new Intl.NumberFormat(state.lang).format(n);
function pct(share) {
  if (share === null || share === undefined) return t('kpis.no_value');
  return new Intl.NumberFormat(state.lang, { style: 'percent', maximumFractionDigits: 0 }).format(share);
}
/** "2026-12-05" is a calendar day: read it as local midnight, not UTC (which could shift it a day back). */
function day(iso) {
  if (!iso) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? new Date(+m[1], +m[2] - 1, +m[3]) : new Date(iso);
}
function fmtDate(iso) {
  const d = day(iso);
  if (!d || Number.isNaN(d.getTime())) return t('dash');
  return new Intl.DateTimeFormat(state.lang, { day: 'numeric', month: 'long', year: 'numeric' }).format(d);
}
function fmtDateTime(iso) {
  const d = day(iso);
  if (!d || Number.isNaN(d.getTime())) return t('dash');
  return new Intl.DateTimeFormat(state.lang, {
    day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(d);
}
const fallback = (key) => FALLBACK[state.lang][key];

// -- Telegram: launch parameters, theme, events ---------------------------------------------------------
function store(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch { /* storage may be off: the page still works until a reload */ }
}
function stored(key) {
  try { return sessionStorage.getItem(key); } catch { return null; }
}

/** Reads tgWebAppData / tgWebAppThemeParams from the hash once and keeps them for reloads. */
function readLaunch() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const data = hash.get('tgWebAppData');
  if (data) {
    store('desk.init', data);
    const theme = hash.get('tgWebAppThemeParams');
    if (theme) store('desk.theme', theme);
  }
  state.init = stored('desk.init');
  try { return JSON.parse(stored('desk.theme') || '{}') || {}; } catch { return {}; }
}

/** bg_color → --tg-theme-bg-color on :root (app.css has the light fallbacks). */
function applyTheme(params) {
  if (!params || typeof params !== 'object') return;
  const root = document.documentElement;
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string' && /^#[0-9a-f]{3,8}$/i.test(value)) {
      root.style.setProperty(`--tg-theme-${key.replace(/_/g, '-')}`, value);
    }
  }
  // Form controls and scrollbars follow a dark theme too.
  const bg = params.bg_color;
  if (typeof bg === 'string' && /^#[0-9a-f]{6}$/i.test(bg)) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(bg.slice(i, i + 2), 16));
    root.dataset.scheme = 0.299 * r + 0.587 * g + 0.114 * b < 128 ? 'dark' : 'light';
  }
}

function onTelegramEvent(name, data) {
  if (name === 'theme_changed' && data && data.theme_params) {
    applyTheme(data.theme_params);
    store('desk.theme', JSON.stringify(data.theme_params));
    state.redraw?.();
  }
}

function listenToTelegram() {
  // Native clients call window.Telegram.WebView.receiveEvent; Telegram Web posts a message to the frame.
  window.Telegram = window.Telegram || {};
  const view = (window.Telegram.WebView = window.Telegram.WebView || {});
  const previous = typeof view.receiveEvent === 'function' ? view.receiveEvent.bind(view) : null;
  view.receiveEvent = (name, data) => {
    onTelegramEvent(name, data);
    previous?.(name, data);
  };
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent || window.parent === window) return;
    try {
      const msg = typeof event.data === 'string' ? JSON.parse(event.data) : event.data;
      if (msg && msg.eventType) onTelegramEvent(msg.eventType, msg.eventData);
    } catch { /* not a Telegram message */ }
  });
}

function postEvent(name, data = {}) {
  try {
    if (window.TelegramWebviewProxy?.postEvent) {
      window.TelegramWebviewProxy.postEvent(name, JSON.stringify(data));
    } else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType: name, eventData: data }), '*');
    }
  } catch { /* outside Telegram nothing listens */ }
}

// -- the API --------------------------------------------------------------------------------------------
class Offline extends Error {}
class Halt extends Error {} // the session ended (401): the page has been replaced
class ApiError extends Error {
  constructor(status, data) {
    super((data && data.message) || '');
    this.status = status;
    this.data = data || {};
  }
}

/** fetch with the initData header. `key` names a request that a newer one with the same key cancels. */
async function api(path, { method = 'GET', json, form, key } = {}) {
  const name = key || `#${anonymous++}`;
  inflight.get(name)?.abort();
  const ctl = new AbortController();
  inflight.set(name, ctl);
  const headers = { Authorization: `tma ${state.init}`, Accept: 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form; // the browser writes the multipart boundary itself
  }
  try {
    let res;
    try {
      res = await fetch(path, { method, headers, body, signal: ctl.signal, credentials: 'omit' });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new Offline();
    }
    let data = null;
    try { data = await res.json(); } catch (e) { if (e.name === 'AbortError') throw e; }
    if (res.ok) return data;
    if (res.status === 401) {
      showFullPage((data && data.message) || state.texts.failed || fallback('offline'));
      throw new Halt();
    }
    throw new ApiError(res.status, data);
  } finally {
    if (inflight.get(name) === ctl) inflight.delete(name);
  }
}
function abortAll() {
  for (const ctl of inflight.values()) ctl.abort();
  inflight.clear();
}

// -- readiness (tests and the benchmark wait for body[data-ready]) and error display --------------------
function clearReady() {
  delete document.body.dataset.ready;
}
function settle(seq) {
  if (seq !== state.seq) return;
  state.pending -= 1;
  if (state.pending === 0 && state.drawn && !state.halted) document.body.dataset.ready = state.page;
}

/** Runs one request-and-redraw of the current page; errors go to #flash. */
async function act(fn) {
  const seq = state.seq;
  state.pending += 1;
  clearReady();
  try {
    await fn();
  } catch (e) {
    if (seq === state.seq) report(e, () => act(fn));
  } finally {
    settle(seq);
  }
}

function report(e, retry) {
  if (e instanceof Halt || e.name === 'AbortError') return;
  if (e instanceof Offline) {
    flash(t('offline'), 'error', el('button', { type: 'button', class: 'retry', text: t('retry'),
      onclick: () => { flash(null); retry(); } }));
  } else if (e instanceof ApiError) {
    flash(e.message || t('failed'));
  } else {
    console.error(e);
    flash(t('failed'));
  }
}

function flash(text, kind = 'error', ...extra) {
  const box = $('#flash');
  if (!box) return;
  box.className = kind;
  box.replaceChildren(...(text ? [el('span', { text }), ...extra] : []));
  box.hidden = !text;
}

function showFullPage(text, retry) {
  state.halted = !retry;
  abortAll();
  clearReady();
  document.body.dataset.state = retry ? 'offline' : 'stopped';
  document.body.replaceChildren(el('div', { class: 'fullpage', role: 'alert' },
    el('p', { text }),
    retry && el('button', { type: 'button', id: 'retry', class: 'primary', text: fallback('retry'), onclick: retry })));
}

// -- start ----------------------------------------------------------------------------------------------
async function start() {
  applyTheme(readLaunch());
  listenToTelegram();
  postEvent('web_app_ready');
  postEvent('web_app_expand');
  if (!state.init) {
    document.body.dataset.state = 'outside';
    document.body.replaceChildren(el('div', { class: 'fullpage' }, el('p', { text: fallback('outside') })));
    return;
  }
  await loadMe();
}

async function loadMe() {
  delete document.body.dataset.state;
  document.body.replaceChildren(el('p', { class: 'loading boot', role: 'status', text: fallback('loading') }));
  let me;
  try {
    me = await api('/api/me');
  } catch (e) {
    if (e instanceof Offline) showFullPage(fallback('offline'), loadMe);
    else if (e instanceof ApiError) showFullPage(e.message || fallback('offline'));
    else if (!(e instanceof Halt)) { console.error(e); showFullPage(fallback('offline'), loadMe); }
    return;
  }
  state.me = me;
  state.texts = me.texts || {};
  state.lang = me.user?.lang === 'en' ? 'en' : 'ru';
  document.documentElement.lang = state.lang;
  state.pages = [...(me.can?.institution ? INSTITUTION_PAGES : []), ...(me.can?.district ? ['district'] : [])];
  buildShell();
  // A reload keeps our own #route; a fresh launch (hash = Telegram's parameters) starts from ?page=.
  const fromHash = location.hash.slice(1);
  const asked = state.pages.includes(fromHash) ? fromHash : new URLSearchParams(location.search).get('page');
  const page = state.pages.includes(asked) ? asked : state.pages[0];
  history.replaceState(null, '', `${location.pathname}${location.search}#${page || ''}`);
  window.addEventListener('hashchange', navigate);
  // Charts are drawn for the width they have (text keeps its size): a new width redraws them on the next frame.
  let width = 0;
  new ResizeObserver(([entry]) => {
    const now = Math.round(entry.contentRect.width);
    if (now !== width) {
      width = now;
      requestAnimationFrame(() => state.redraw?.());
    }
  }).observe($('#main'));
  navigate();
}

function buildShell() {
  const me = state.me;
  document.title = t(me.can?.institution ? 'title' : 'title_district');
  const sub = [me.institution?.title, me.programme?.title].filter(Boolean).join(' · ');
  const nav = el('nav', { id: 'nav', 'aria-label': t('nav.label') },
    state.pages.map((p) => el('a', { href: `#${p}`, dataset: { page: p }, text: t(`nav.${p}`) })));
  document.body.replaceChildren(
    el('header', { class: 'top' },
      el('div', { class: 'wrap' },
        el('h1', { text: document.title }),
        sub && el('p', { class: 'sub', text: sub }),
        me.user?.name && el('p', { class: 'who', text: me.user.name }))),
    el('div', { class: 'navbar' }, el('div', { class: 'wrap' }, nav)),
    el('div', { class: 'wrap' },
      el('div', { id: 'flash', role: 'alert', hidden: true }),
      el('main', { id: 'main' })));
}

const PAGES = {
  participants: pageParticipants, pairs: pagePairs, matching: pageMatching,
  roadmap: pageRoadmap, kpis: pageKpis, district: pageDistrict,
};

async function navigate() {
  if (state.halted) return;
  const page = location.hash.slice(1);
  if (!state.pages.includes(page)) {
    if (state.pages.length) location.replace(`#${state.pages[0]}`);
    return;
  }
  abortAll();
  clearTimeout(searchTimer);
  searchTimer = null;
  clearReady();
  delete document.body.dataset.state;
  state.seq += 1;
  state.pending = 0;
  state.drawn = false;
  state.redraw = null;
  state.page = page;
  const seq = state.seq;
  for (const a of $$('#nav a')) {
    if (a.dataset.page === page) {
      a.setAttribute('aria-current', 'page');
      a.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    } else a.removeAttribute('aria-current');
  }
  flash(null);
  const main = $('#main');
  main.replaceChildren(loadingText());
  state.pending += 1;
  try {
    await PAGES[page](main);
    if (seq === state.seq) state.drawn = true;
  } catch (e) {
    if (seq !== state.seq) return;
    if (e instanceof Offline) {
      document.body.dataset.state = 'offline';
      main.replaceChildren(el('div', { class: 'offline' },
        el('p', { text: t('offline') }),
        el('button', { type: 'button', id: 'retry', class: 'primary', text: t('retry'), onclick: navigate })));
    } else {
      main.replaceChildren();
      report(e, navigate);
      if (e instanceof ApiError) document.body.dataset.state = 'error';
    }
  } finally {
    settle(seq);
  }
}

const loadingText = () => el('p', { class: 'loading', role: 'status', text: t('loading') });
/** A <th>/<td> that also carries its column name for the phone's card layout (td::before). */
const cell = (label, ...kids) => el('td', { 'data-label': label }, ...kids);
const tableWrap = (table) => el('div', { class: 'table-wrap' }, table);

// -- 1. participants ------------------------------------------------------------------------------------
const people = { q: '', role: '', status: '', group: '', programme: '', sort: 'name', dir: 'asc', page: 0 };
let searchTimer = null;
let facetsSeen = '';

async function pageParticipants(main) {
  facetsSeen = '';
  const q = el('input', { id: 'q', type: 'search', value: people.q, placeholder: t('people.search_placeholder'),
    autocomplete: 'off', enterkeyhint: 'search' });
  q.addEventListener('input', () => {
    // The debounce counts as a pending request, so data-ready stays cleared until the new list is drawn.
    if (!searchTimer) state.pending += 1;
    clearReady();
    clearTimeout(searchTimer);
    const seq = state.seq;
    searchTimer = setTimeout(() => {
      searchTimer = null;
      if (seq !== state.seq) return;
      people.q = q.value.trim();
      people.page = 0;
      act(loadPeople);
      settle(seq);
    }, 250);
  });
  const filter = (id, label) => {
    const select = el('select', { id, onchange: () => { people[id] = select.value; people.page = 0; act(loadPeople); } });
    return el('label', { class: 'field' }, el('span', { text: label }), select);
  };
  const sortable = (key, label) => el('th', { scope: 'col', dataset: { sort: key } },
    el('button', { type: 'button', class: 'sort', 'aria-label': t('people.sort_by', { column: label }),
      onclick: () => {
        if (people.sort === key) people.dir = people.dir === 'asc' ? 'desc' : 'asc';
        else { people.sort = key; people.dir = 'asc'; }
        people.page = 0;
        act(loadPeople);
      } }, label));
  const tbody = el('tbody');
  tbody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-id]');
    if (tr) act(() => openCard(tr.dataset.id, tr.querySelector('button') || tr));
  });
  const page = (delta) => { people.page = Math.max(0, people.page + delta); act(loadPeople); };
  main.replaceChildren(
    el('div', { class: 'toolbar' },
      el('label', { class: 'field search' }, el('span', { text: t('people.search') }), q),
      filter('role', t('people.role')), filter('status', t('people.status')),
      filter('group', t('people.group')), filter('programme', t('people.programme'))),
    tableWrap(el('table', { id: 'people', class: 'cards' },
      el('thead', {}, el('tr', {},
        sortable('name', t('people.col_name')), sortable('group', t('people.col_group')),
        el('th', { scope: 'col', text: t('people.col_roles') }),
        sortable('status', t('people.col_status')),
        el('th', { scope: 'col', text: t('people.col_pair') }))),
      tbody)),
    el('p', { id: 'people-empty', class: 'hint', hidden: true, text: t('people.empty') }),
    el('div', { class: 'pager' },
      el('button', { type: 'button', id: 'prev', text: t('people.prev'), onclick: () => page(-1) }),
      el('span', { id: 'page-info', 'aria-live': 'polite' }),
      el('button', { type: 'button', id: 'next', text: t('people.next'), onclick: () => page(1) })),
    el('div', { class: 'backdrop', id: 'card-backdrop', hidden: true, onclick: closeCard }),
    el('section', { id: 'card', hidden: true, role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'card-name',
      onkeydown: (e) => { if (e.key === 'Escape') closeCard(); } },
      el('div', { class: 'card-head' },
        el('h2', { id: 'card-name' }),
        el('button', { type: 'button', id: 'card-close', 'aria-label': t('close'), text: '×', onclick: closeCard })),
      el('div', { class: 'card-body' })));
  await loadPeople();
}

async function loadPeople() {
  const params = new URLSearchParams({ sort: people.sort, dir: people.dir, page: people.page, size: 50 });
  for (const k of ['q', 'role', 'status', 'group', 'programme']) if (people[k]) params.set(k, people[k]);
  const table = $('#people');
  table?.setAttribute('aria-busy', 'true');
  const data = await api(`/api/participants?${params}`, { key: 'people' });
  table.removeAttribute('aria-busy');
  drawFacets(data.facets || {});
  for (const th of $$('th[data-sort]', table)) {
    const on = th.dataset.sort === people.sort;
    th.setAttribute('aria-sort', on ? (people.dir === 'asc' ? 'ascending' : 'descending') : 'none');
  }
  const rows = data.items.map((p) => el('tr', { dataset: { id: p.id }, class: p.unreachable ? 'unreachable' : null },
    el('td', { class: 'name', 'data-label': t('people.col_name') },
      el('button', { type: 'button', class: 'link', 'aria-label': t('people.open_card', { name: p.name }), text: p.name }),
      p.unreachable && el('span', { class: 'badge warn', text: t('people.unreachable') })),
    cell(t('people.col_group'), p.group || t('dash')),
    cell(t('people.col_roles'), p.role_names.join(', ') || t('dash')),
    cell(t('people.col_status'), el('span', { class: `status status-${p.status}`, text: p.status_name })),
    cell(t('people.col_pair'), p.roles.includes('mentee') || p.roles.includes('mentor')
      ? el('span', { class: p.paired ? 'paired' : 'unpaired', text: t(p.paired ? 'people.paired' : 'people.unpaired') })
      : t('dash'))));
  $('tbody', table).replaceChildren(...rows);
  $('#people-empty').hidden = rows.length > 0;
  const pages = Math.max(1, data.pages);
  people.page = Math.min(data.page, pages - 1);
  $('#page-info').textContent = t('people.page', { page: num(data.page + 1), pages: num(pages), people: plural('people', data.total) });
  $('#prev').disabled = data.page <= 0;
  $('#next').disabled = data.page >= pages - 1;
}

/** Refills the filters only when the choices changed, so an open select or the focus is not disturbed. */
function drawFacets(f) {
  const sig = JSON.stringify(f);
  if (sig === facetsSeen) return;
  facetsSeen = sig;
  const fill = (id, all, options) => {
    const select = $(`#${id}`);
    select.replaceChildren(el('option', { value: '', text: all }),
      ...options.map(([value, name]) => el('option', { value: String(value), text: name })));
    select.value = options.some(([v]) => String(v) === people[id]) ? people[id] : '';
  };
  fill('role', t('people.all_roles'), (f.roles || []).map((o) => [o.value, o.name]));
  fill('status', t('people.all_statuses'), (f.statuses || []).map((o) => [o.value, o.name]));
  fill('group', t('people.all_groups'), (f.groups || []).map((g) => [g, g]));
  fill('programme', t('people.all_programmes'), (f.programmes || []).map((p) => [p.id, p.title]));
}

let cardOpener = null;
async function openCard(id, opener) {
  const p = await api(`/api/participants/${encodeURIComponent(id)}`, { key: 'card' });
  const card = $('#card');
  if (!card) return;
  cardOpener = opener;
  card.dataset.id = p.id;
  $('#card-name').textContent = p.name;
  const facts = el('dl', { class: 'facts' },
    el('dt', { text: t('card.group') }), el('dd', { text: p.group || t('dash') }),
    el('dt', { text: t('card.roles') }), el('dd', { text: p.role_names.join(', ') || t('dash') }),
    el('dt', { text: t('card.status') }), el('dd', {}, p.status_name,
      p.unreachable && el('span', { class: 'badge warn', text: t('people.unreachable') })));
  const intake = p.intake.length
    ? p.intake.map((form) => el('div', { class: 'intake' }, el('h4', { text: form.title }),
      el('dl', {}, form.answers.map((a) => [el('dt', { text: a.q }), el('dd', { text: a.a || t('dash') })]))))
    : [el('p', { class: 'hint', text: t('card.no_intake') })];
  const pairs = p.pairs.length
    ? el('ul', { class: 'plain' }, p.pairs.map((x) => el('li', { class: 'box', dataset: { id: x.id } },
      el('p', {}, el('strong', { text: x.stage_name }), x.group && el('span', { class: 'badge', text: t('card.group_pair') })),
      el('p', { text: `${t('card.mentor')}: ${x.mentor}` }),
      el('p', { text: `${t('card.mentees')}: ${x.mentees.join(', ')}` }),
      el('p', { class: 'hint', text: `${t('card.held', { held: num(x.held), meetings: num(x.meetings) })} · ${t('card.feedback', { feedback: num(x.feedback) })}` }))))
    : el('p', { class: 'hint', text: t('card.no_pairs') });
  const meetings = p.meetings.length
    ? el('ul', { class: 'plain meetings' }, p.meetings.map((m) => el('li', { dataset: { id: m.id } },
      el('span', { class: 'when', text: m.at ? fmtDateTime(m.at) : t('card.no_time') }),
      el('span', { text: m.kind_name }), ' · ',
      el('span', { class: `status status-${m.status}`, text: m.status_name }),
      m.feedback ? el('span', { class: 'hint', text: ` · ${t('card.meeting_feedback', { feedback: num(m.feedback) })}` }) : null)))
    : el('p', { class: 'hint', text: t('card.no_meetings') });
  // The chat card's own actions: a reminder to look into the bot, the «no contact» mark.
  const actions = el('div', { class: 'actions card-actions' },
    el('button', { type: 'button', id: 'card-nudge', text: t('card.nudge'),
      onclick: () => act(async () => {
        const res = await api(`/api/participants/${encodeURIComponent(p.id)}/nudge`, { method: 'POST' });
        flash(res.message, res.sent ? 'ok' : 'warn');
      }) }),
    el('button', { type: 'button', id: 'card-reach', text: t(p.unreachable ? 'card.reachable' : 'card.unreachable'),
      onclick: () => act(async () => {
        const res = await api(`/api/participants/${encodeURIComponent(p.id)}/reach`,
          { method: 'POST', json: { unreachable: !p.unreachable } });
        await openCard(p.id, cardOpener);
        await loadPeople();
        flash(res.message, 'ok');
      }) }));
  $('.card-body', card).replaceChildren(facts, actions,
    el('h3', { text: t('card.intake') }), ...intake,
    el('h3', { text: t('card.pairs') }), pairs,
    el('h3', { text: t('card.meetings') }), meetings);
  card.hidden = false;
  $('#card-backdrop').hidden = false;
  document.body.classList.add('card-open');
  $('.card-body', card).scrollTop = 0;
  $('#card-close').focus();
}
function closeCard() {
  const card = $('#card');
  if (!card || card.hidden) return;
  card.hidden = true;
  $('#card-backdrop').hidden = true;
  document.body.classList.remove('card-open');
  if (cardOpener?.isConnected) cardOpener.focus();
}

// -- 2. pairs by stage ----------------------------------------------------------------------------------
async function pagePairs(main) {
  const data = await api('/api/pairs');
  const meeting = (label, iso, none) => el('span', { class: 'meet' },
    el('span', { class: 'hint', text: `${label}: ` }), iso ? fmtDate(iso) : none);
  const stages = data.stages.map((s) => el('section', { class: 'stage', dataset: { stage: s.stage } },
    el('h2', {}, s.name, ' ', el('span', { class: 'count', text: plural('pairs', s.pairs.length) })),
    s.pairs.length
      ? el('ul', { class: 'plain pairs' }, s.pairs.map((p) => el('li', { class: `box pair${p.overdue ? ' overdue' : ''}`, dataset: { id: p.id } },
        el('p', { class: 'who' },
          el('span', { class: 'hint', text: `${t('pairs.mentor')}: ` }), el('strong', { text: p.mentor }),
          p.group && el('span', { class: 'badge', text: t('pairs.group') })),
        el('p', {}, el('span', { class: 'hint', text: `${t('pairs.mentees')}: ` }), p.mentees.join(', ')),
        el('p', { class: 'meets' },
          meeting(t('pairs.last'), p.last_meeting, t('pairs.never')),
          meeting(t('pairs.next'), p.next_meeting, t('pairs.not_set'))),
        p.overdue && el('p', { class: 'badge overdue-label', text: p.overdue_days
          ? t('pairs.overdue_by', { days: plural('days', p.overdue_days) }) : t('pairs.overdue') }))))
      : el('p', { class: 'hint', text: t('pairs.stage_empty') })));
  main.replaceChildren(
    el('p', { class: 'summary', text: t('pairs.summary', { pairs: plural('pairs', data.total), overdue: num(data.overdue) }) }),
    ...(data.total ? [] : [el('p', { class: 'hint', text: t('pairs.empty') })]),
    el('div', { class: 'stages' }, stages));
}

// -- 3. matching ----------------------------------------------------------------------------------------
let matching = null; // the last answer of /api/matching*

async function pageMatching(main) {
  main.replaceChildren(
    el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'run', class: 'primary', text: t('matching.run'),
        onclick: () => act(async () => {
          const run = $('#run');
          run.disabled = true;
          run.textContent = t('matching.running');
          try { drawMatching(await api('/api/matching/run', { method: 'POST' })); } finally {
            run.disabled = !!matching?.archived;
            run.textContent = t('matching.run');
          }
        }) }),
      el('span', { id: 'match-open', class: 'hint' })),
    el('p', { id: 'match-note', class: 'hint' }),
    tableWrap(el('table', { id: 'proposals', class: 'cards' },
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', class: 'pick keep' },
          el('label', {}, el('input', { type: 'checkbox', id: 'pick-all', 'aria-label': t('matching.pick_all'),
            onchange: (e) => { for (const box of $$('input.pick')) box.checked = e.target.checked; syncPicks(); } }),
          el('span', { class: 'phone-only', text: t('matching.pick_all') }))),
        el('th', { scope: 'col', text: t('matching.col_score') }),
        el('th', { scope: 'col', text: t('matching.col_mentee') }),
        el('th', { scope: 'col', text: t('matching.col_mentor') }),
        el('th', { scope: 'col', text: t('matching.col_reasons') }),
        el('th', { scope: 'col', text: t('matching.col_decision') }))),
      el('tbody', { onchange: syncPicks }))),
    el('div', { class: 'actions sticky' },
      el('button', { type: 'button', id: 'approve', class: 'primary', text: t('matching.approve'), onclick: () => decide('approve') }),
      el('button', { type: 'button', id: 'reject', class: 'danger', text: t('matching.reject'), onclick: () => decide('reject') })),
    el('section', { id: 'unmatched-box', hidden: true },
      el('h2', { text: t('matching.unmatched') }), el('ul', { id: 'unmatched', class: 'plain' })),
    el('section', { id: 'manual', class: 'box', hidden: true },
      el('h2', { text: t('matching.manual_title') }),
      el('p', { class: 'hint', text: t('matching.manual_hint') }),
      el('div', { class: 'form-grid' },
        el('label', { class: 'field', for: 'manual-mentee' }, el('span', { text: t('matching.col_mentee') }),
          el('select', { id: 'manual-mentee', onchange: () => { $('#manual-warning').hidden = true; } })),
        el('label', { class: 'field', for: 'manual-mentor' }, el('span', { text: t('matching.col_mentor') }),
          el('select', { id: 'manual-mentor', onchange: () => { $('#manual-warning').hidden = true; } })),
        el('div', { class: 'actions' },
          el('button', { type: 'button', id: 'manual-pair', class: 'primary', text: t('matching.manual_pair'),
            onclick: () => pairByHand(false) }))),
      el('p', { id: 'manual-nobody', class: 'hint', hidden: true, text: t('matching.manual_nobody') }),
      el('div', { id: 'manual-warning', class: 'warning', role: 'alert', hidden: true },
        el('p', { id: 'manual-warning-text' }), el('ul', { id: 'manual-violations' }),
        el('button', { type: 'button', id: 'manual-force', class: 'danger', text: t('matching.manual_force'),
          onclick: () => pairByHand(true) }))));
  drawMatching(await api('/api/matching'));
  if (!matching.archived) await loadManual();
}

/** /pair's lists: mentees without a pair (those not ready say so), mentors with their load. */
async function loadManual() {
  const data = await api('/api/matching/manual', { key: 'manual' });
  const option = (value, text) => el('option', { value, text });
  $('#manual-mentee').replaceChildren(...data.mentees.map((x) => option(x.id,
    [x.name, x.group && `(${x.group})`, !x.ready && `— ${t('matching.manual_not_ready')}`].filter(Boolean).join(' '))));
  $('#manual-mentor').replaceChildren(...data.mentors.map((x) => option(x.id,
    t('matching.manual_load', { name: x.name, load: num(x.load), capacity: num(x.capacity) }))));
  const nobody = !data.mentees.length || !data.mentors.length;
  $('#manual-nobody').hidden = !nobody;
  $('#manual-pair').disabled = nobody;
  $('#manual-warning').hidden = true;
  $('#manual').hidden = false;
}

function pairByHand(force) {
  const mentee = Number($('#manual-mentee').value), mentor = Number($('#manual-mentor').value);
  if (!mentee || !mentor) { flash(t('matching.manual_pick')); return; }
  act(async () => {
    flash(null);
    const res = await api('/api/matching/manual', { method: 'POST', json: { mentee, mentor, force } });
    if (!res.paired) {
      // What the pair breaks, before it is made: the curator may still insist.
      $('#manual-warning-text').textContent = res.message;
      $('#manual-violations').replaceChildren(...res.violations.map((v) => el('li', { text: v })));
      $('#manual-warning').hidden = false;
      return;
    }
    await loadManual();
    flash(res.message, 'ok');
  });
}

function drawMatching(data) {
  matching = data;
  $('#match-open').textContent = data.run ? t('matching.open', { open: num(data.open), total: num(data.total) }) : '';
  $('#match-note').textContent = data.archived ? t('matching.archived')
    : !data.run ? t('matching.intro') : data.proposals.length ? '' : t('matching.none');
  $('#match-note').hidden = !$('#match-note').textContent;
  $('#run').disabled = !!data.archived;
  const rows = data.proposals.map((p) => {
    const open = p.status === 'proposed' && !data.archived;
    const status = ['proposed', 'approved', 'rejected', 'superseded'].includes(p.status) ? p.status : 'other';
    return el('tr', { dataset: { id: p.id, status: p.status }, class: p.status === 'proposed' ? null : 'decided' },
      el('td', { class: 'pick' }, open && el('input', { type: 'checkbox', class: 'pick', value: p.id,
        'aria-label': t('matching.pick', { mentee: p.mentee.name, mentor: p.mentor.name }) })),
      cell(t('matching.col_score'), el('span', { class: 'score', title: t('matching.score', { score: p.score }) },
        el('meter', { min: 0, max: 100, value: p.score, 'aria-hidden': 'true' }), ` ${num(p.score)}`)),
      cell(t('matching.col_mentee'), el('strong', { text: p.mentee.name }),
        p.mentee.group && el('span', { class: 'hint', text: ` ${p.mentee.group}` })),
      cell(t('matching.col_mentor'), p.mentor.name),
      cell(t('matching.col_reasons'), p.reasons.length
        ? el('ul', { class: 'reasons' }, p.reasons.map((r) => el('li', { text: r }))) : t('dash')),
      cell(t('matching.col_decision'), el('span', { class: `decision decision-${p.status}`, text: t(`matching.status.${status}`) })));
  });
  $('#proposals tbody').replaceChildren(...rows);
  $('#proposals').hidden = !rows.length;
  const un = data.unmatched || [];
  $('#unmatched').replaceChildren(...un.map((u) => el('li', { dataset: { id: u.id } },
    el('strong', { text: u.name }), el('span', { class: 'hint', text: ` — ${u.reason}` }))));
  $('#unmatched-box').hidden = !un.length;
  $('#pick-all').checked = false;
  syncPicks();
}

function syncPicks() {
  const boxes = $$('input.pick');
  const picked = boxes.filter((b) => b.checked).length;
  const all = $('#pick-all');
  all.disabled = !boxes.length;
  all.checked = boxes.length > 0 && picked === boxes.length;
  all.indeterminate = picked > 0 && picked < boxes.length;
  $('#approve').disabled = $('#reject').disabled = !picked;
}

function decide(what) {
  const ids = $$('input.pick:checked').map((b) => Number(b.value));
  if (!ids.length) { flash(t('matching.nothing_picked')); return; }
  act(async () => {
    flash(null);
    const body = { run: matching.run, approve: what === 'approve' ? ids : [], reject: what === 'reject' ? ids : [] };
    const data = await api('/api/matching/decide', { method: 'POST', json: body });
    drawMatching(data);
    if (data.approved && !data.archived) await loadManual(); // the newly paired leave the lists by hand
    const parts = [];
    if (data.approved) parts.push(t('matching.approved', { pairs: plural('pairs', data.approved) }));
    if (data.rejected) parts.push(t('matching.rejected', { pairs: plural('pairs', data.rejected) }));
    // Proposals that could not be decided as asked (taken meanwhile, mentor full…) explain themselves.
    const other = (data.results || []).filter((r) => r.decision !== 'approved' && r.decision !== 'rejected');
    for (const m of new Set(other.map((r) => r.message))) parts.push(m);
    if (parts.length) flash(parts.join(' '), other.length ? 'warn' : 'ok');
  });
}

// -- 4. roadmap -----------------------------------------------------------------------------------------
let roadmapView = 'table';
let roadmap = null;

async function pageRoadmap(main) {
  const view = (name) => el('button', { type: 'button', id: `view-${name}`, 'aria-pressed': String(roadmapView === name),
    text: t(`roadmap.view_${name}`), onclick: () => { roadmapView = name; showRoadmapView(); } });
  // The native file input speaks the browser's language: it is hidden behind our own button and file name.
  const file = el('input', { type: 'file', id: 'import-file', accept: '.xlsx,.csv,.docx', 'aria-label': t('roadmap.import_file'),
    onchange: () => { $('#import-name').textContent = file.files?.[0]?.name || t('roadmap.no_file'); } });
  main.replaceChildren(
    el('p', { id: 'roadmap-programme', class: 'sub' }),
    el('p', { id: 'roadmap-summary', class: 'summary' }),
    el('div', { class: 'segmented', role: 'group' }, view('table'), view('timeline')),
    el('div', { id: 'roadmap-table-view' },
      tableWrap(el('table', { id: 'roadmap', class: 'cards' },
        el('thead', {}, el('tr', {}, ['activity', 'responsible', 'when', 'status', 'actions']
          .map((c) => el('th', { scope: 'col', text: t(`roadmap.col_${c}`) })))),
        el('tbody', { onclick: roadmapClick })))),
    el('div', { id: 'roadmap-timeline-view' },
      el('div', { class: 'chart-box wide' }, svg('svg', { id: 'timeline', role: 'img' })),
      legend([['done', 'legend_done'], ['open', 'legend_open'], ['overdue', 'legend_overdue']]),
      el('p', { id: 'undated', class: 'hint' })),
    el('p', { id: 'roadmap-empty', class: 'hint', hidden: true, text: t('roadmap.empty') }),
    el('section', { class: 'add box' },
      el('h2', { text: t('roadmap.add_title') }),
      el('form', { id: 'add-form', class: 'form-grid', onsubmit: addActivity },
        field('add-activity', t('roadmap.col_activity'), { required: true, maxlength: 2000 }),
        field('add-responsible', t('roadmap.col_responsible'), { maxlength: 2000 }),
        field('add-deadline', t('roadmap.col_when'), { required: true, maxlength: 200, placeholder: t('roadmap.deadline_hint') }),
        field('add-result', t('roadmap.result'), { maxlength: 2000 }),
        el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'add', class: 'primary', text: t('roadmap.add') })))),
    el('section', { class: 'import box' },
      el('h2', { text: t('roadmap.import_title') }),
      el('p', { class: 'hint', text: t('roadmap.import_hint') }),
      el('div', { class: 'actions' },
        el('label', { class: 'file-pick' }, file,
          el('span', { class: 'button-like', 'aria-hidden': 'true', text: t('roadmap.pick_file') }),
          el('span', { id: 'import-name', text: t('roadmap.no_file') })),
        el('button', { type: 'button', id: 'import', class: 'primary', text: t('roadmap.import'), onclick: importRoadmap })),
      el('div', { id: 'import-result', hidden: true },
        el('p', { text: t('roadmap.import_errors') }), el('ul', { id: 'import-errors' }))));
  state.redraw = () => { if (roadmap && roadmapView === 'timeline') drawTimeline(roadmap.items); };
  drawRoadmap(await api('/api/roadmap', { key: 'roadmap' }));
}

/** The legend of the timeline: the same shapes as on it, with words. */
function legend(entries) {
  return el('ul', { class: 'legend' }, entries.map(([kind, key]) => el('li', {},
    svg('svg', { width: 16, height: 16, viewBox: '-8 -8 16 16', 'aria-hidden': 'true' }, marker(kind, 0, 0)),
    t(`roadmap.${key}`))));
}

function drawRoadmap(data) {
  roadmap = data;
  $('#roadmap-programme').textContent = data.programme ? t('roadmap.programme', { title: data.programme.title }) : '';
  $('#roadmap-summary').textContent = t('roadmap.summary', { open: num(data.open), done: num(data.done), overdue: num(data.overdue) });
  const rows = data.items.map((it) => {
    const kind = it.status === 'done' ? 'done' : it.overdue ? 'overdue' : 'open';
    const open = it.status !== 'done';
    return el('tr', { dataset: { id: it.id, status: it.status }, class: kind },
      cell(t('roadmap.col_activity'), el('span', { text: it.activity }),
        it.recurring && el('span', { class: 'badge', text: t('roadmap.recurring') })),
      cell(t('roadmap.col_responsible'), it.responsible || t('dash')),
      cell(t('roadmap.col_when'), it.when || (it.due_on ? fmtDate(it.due_on) : t('dash')),
        it.done_at && el('span', { class: 'hint block', text: t('roadmap.done_at', { date: fmtDate(it.done_at) }) })),
      cell(t('roadmap.col_status'), el('span', { class: `state state-${kind}`, text: t(`roadmap.status_${kind}`) })),
      el('td', { class: 'row-actions', 'data-label': t('roadmap.col_actions') }, open ? [
        el('button', { type: 'button', class: 'done', text: t('roadmap.done') }),
        el('span', { class: 'move-box' },
          el('input', { type: 'date', class: 'due', value: it.due_on || '', 'aria-label': `${t('roadmap.due')}: ${it.activity}` }),
          el('button', { type: 'button', class: 'move', text: t('roadmap.move') }))] : []));
  });
  $('#roadmap tbody').replaceChildren(...rows);
  $('#roadmap-empty').hidden = rows.length > 0;
  showRoadmapView();
}

function showRoadmapView() {
  for (const name of ['table', 'timeline']) {
    $(`#view-${name}`).setAttribute('aria-pressed', String(roadmapView === name));
    $(`#roadmap-${name}-view`).hidden = roadmapView !== name || !roadmap?.items.length;
  }
  if (roadmapView === 'timeline' && roadmap?.items.length) drawTimeline(roadmap.items);
}

function roadmapClick(e) {
  const button = e.target.closest('button');
  const tr = e.target.closest('tr[data-id]');
  if (!button || !tr) return;
  const id = encodeURIComponent(tr.dataset.id);
  if (button.classList.contains('done')) {
    act(async () => {
      button.disabled = true;
      const res = await api(`/api/roadmap/${id}/done`, { method: 'POST', json: { note: '' } });
      await reloadRoadmap();
      flash([t('roadmap.marked_done'), res.next_due && t('roadmap.next_due', { date: fmtDate(res.next_due) })]
        .filter(Boolean).join(' '), 'ok');
    });
  } else if (button.classList.contains('move')) {
    const value = $('input.due', tr).value;
    if (!value) { flash(t('roadmap.pick_date')); return; }
    act(async () => {
      await api(`/api/roadmap/${id}/move`, { method: 'POST', json: { deadline: value } });
      await reloadRoadmap();
      flash(t('roadmap.moved'), 'ok');
    });
  }
}
const reloadRoadmap = async () => drawRoadmap(await api('/api/roadmap', { key: 'roadmap' }));

function field(id, label, attrs) {
  return el('label', { class: 'field', for: id }, el('span', { text: label }), el('input', { id, type: 'text', ...attrs }));
}

/** One activity, field by field; the deadline in the chat's words («до 25.12.2026», «ежегодно до 30.11»). */
function addActivity(e) {
  e.preventDefault();
  const form = e.currentTarget;
  const value = (id) => $(`#${id}`).value.trim();
  if (!value('add-activity') || !value('add-deadline')) { flash(t('roadmap.add_missing')); return; }
  act(async () => {
    const button = $('#add');
    button.disabled = true;
    try {
      const res = await api('/api/roadmap', { method: 'POST', json: {
        activity: value('add-activity'), responsible: value('add-responsible'),
        deadline: value('add-deadline'), result: value('add-result') } });
      form.reset();
      await reloadRoadmap();
      flash(res.message, 'ok');
    } finally {
      button.disabled = false;
    }
  });
}

function importRoadmap() {
  const input = $('#import-file');
  const file = input.files?.[0];
  if (!file) { flash(t('roadmap.choose_file')); return; }
  act(async () => {
    flash(null);
    $('#import-result').hidden = true;
    const button = $('#import');
    button.disabled = true;
    button.textContent = t('roadmap.importing');
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const res = await api('/api/roadmap/import', { method: 'POST', form });
      input.value = '';
      $('#import-name').textContent = t('roadmap.no_file');
      await reloadRoadmap();
      // The chat's own import report when the server sends it (it also tells skipped rows), else ours.
      flash(res.message || t('roadmap.imported', { activities: plural('activities', res.imported) }), 'ok');
    } catch (e) {
      // A refused file lists what to fix, row by row; the message itself goes to #flash as usual.
      if (e instanceof ApiError) {
        const errors = e.data.errors || [];
        $('#import-errors').replaceChildren(...errors.map((x) => el('li', { text: x })));
        $('#import-result').hidden = !errors.length;
      }
      throw e;
    } finally {
      button.disabled = false;
      button.textContent = t('roadmap.import');
    }
  });
}

/** done: circle, open: square, overdue: triangle (shape and colour and the legend, not colour alone). */
function marker(kind, x, y) {
  if (kind === 'done') return svg('circle', { class: 'mk mk-done', cx: x, cy: y, r: 6 });
  if (kind === 'open') return svg('rect', { class: 'mk mk-open', x: x - 5.5, y: y - 5.5, width: 11, height: 11, rx: 1.5 });
  return svg('path', { class: 'mk mk-overdue', d: `M${x} ${y - 7}L${x + 7} ${y + 5.5}H${x - 7}Z` });
}

function drawTimeline(items) {
  const box = $('#timeline');
  const width = Math.max(300, box.parentElement.clientWidth || 340);
  const dated = items.filter((it) => it.due_on).map((it) => ({ ...it, d: day(it.due_on) }))
    .sort((a, b) => a.d - b.d || a.id - b.id);
  const undated = items.length - dated.length;
  $('#undated').textContent = undated ? t('roadmap.undated', { activities: plural('activities', undated) }) : '';
  // The programme year runs September to August; dates outside it widen the axis to their span.
  const first = dated[0]?.d || new Date();
  const last = dated[dated.length - 1]?.d || first;
  const y0 = first.getMonth() >= 8 ? first.getFullYear() : first.getFullYear() - 1;
  let start = new Date(y0, 8, 1);
  let end = new Date(y0 + 1, 8, 1);
  if (last >= end) {
    start = new Date(first.getFullYear(), first.getMonth(), 1);
    end = new Date(last.getFullYear(), last.getMonth() + 1, 1);
  }
  const months = [];
  for (let m = new Date(start); m < end; m = new Date(m.getFullYear(), m.getMonth() + 1, 1)) months.push(m);
  const left = 6, right = width - 10, top = 24, rowH = 36;
  const x = (d) => left + ((d - start) / (end - start)) * (right - left);
  const height = top + dated.length * rowH + 22;
  const colW = (right - left) / months.length;
  const monthFmt = new Intl.DateTimeFormat(state.lang, { month: colW < 34 ? 'narrow' : 'short' });
  const nodes = [svg('title', {}, t('roadmap.timeline'))];
  months.forEach((m, i) => {
    const mx = x(m);
    if (i % 2 === 0) nodes.push(svg('rect', { class: 'band', x: mx, y: top - 4, width: colW, height: height - top - 18 }));
    nodes.push(svg('text', { class: 'axis', x: mx + colW / 2, y: 14, 'text-anchor': 'middle' }, monthFmt.format(m)));
  });
  const today = new Date();
  if (today >= start && today < end) {
    const tx = x(today);
    nodes.push(svg('line', { class: 'today', x1: tx, x2: tx, y1: top - 4, y2: height - 18 }),
      svg('text', { class: 'axis today-label', x: Math.min(Math.max(tx, 24), right - 24), y: height - 4, 'text-anchor': 'middle' }, t('roadmap.today')));
  }
  const maxChars = Math.max(20, Math.floor((right - left) / 6.6));
  dated.forEach((it, i) => {
    const kind = it.status === 'done' ? 'done' : it.overdue ? 'overdue' : 'open';
    const y = top + i * rowH;
    const mx = Math.min(Math.max(x(it.d), left + 8), right - 8);
    const label = it.activity.length > maxChars ? `${it.activity.slice(0, maxChars - 1)}…` : it.activity;
    nodes.push(svg('g', { class: `item ${kind}`, dataset: { id: it.id } },
      svg('title', {}, `${it.activity} — ${it.when || fmtDate(it.due_on)} — ${t(`roadmap.status_${kind}`)}`),
      svg('text', { class: 'label', x: left, y: y + 11 }, label),
      svg('line', { class: 'track', x1: left, x2: right, y1: y + 24, y2: y + 24 }),
      marker(kind, mx, y + 24)));
  });
  box.setAttribute('viewBox', `0 0 ${width} ${height}`);
  box.setAttribute('width', width);
  box.setAttribute('height', height);
  box.replaceChildren(...nodes);
}

// -- 5. indicators --------------------------------------------------------------------------------------
async function pageKpis(main) {
  const data = await api('/api/kpis');
  const light = (l) => { const c = ['green', 'yellow', 'red', 'grey'].includes(l) ? l : 'grey';
    return el('span', { class: `light light-${c}`, text: t(`kpis.light.${c}`) }); };
  main.replaceChildren(
    el('h2', { text: t('kpis.title', { year: data.year }) }),
    data.programme && el('p', { class: 'sub', text: data.programme.title }),
    tableWrap(el('table', { id: 'kpis', class: 'cards' },
      el('thead', {}, el('tr', {}, ['name', 'light', 'value', 'target'].map((c) => el('th', { scope: 'col', text: t(`kpis.col_${c}`) })))),
      el('tbody', {}, data.indicators.map((k) => el('tr', { dataset: { code: k.code } },
        el('th', { scope: 'row', text: k.name }), cell(t('kpis.col_light'), light(k.light)),
        el('td', { class: 'num', 'data-label': t('kpis.col_value'), text: pct(k.value) }),
        el('td', { class: 'num', 'data-label': t('kpis.col_target'), text: has(k.target) ? pct(k.target) : t('kpis.no_target') })))))),
    el('h3', { text: t('kpis.chart') }),
    el('div', { class: 'chart-box' }, svg('svg', { id: 'kpi-chart', role: 'img' })),
    el('ul', { class: 'legend' },
      el('li', {}, el('span', { class: 'swatch swatch-bar' }), t('kpis.chart_value')),
      el('li', {}, el('span', { class: 'swatch swatch-target' }), t('kpis.chart_target'))),
    el('h3', { text: t('kpis.stages') }),
    data.pairs_by_stage.length
      ? el('div', { class: 'chart-box' }, svg('svg', { id: 'stage-chart', role: 'img' }))
      : el('p', { class: 'hint', text: t('kpis.no_stages') }),
    data.pairs && el('p', { class: 'summary', text: t('kpis.pairs', {
      active: num(data.pairs.active), overdue: num(data.pairs.overdue),
      finished: num(data.pairs.finished), dissolved: num(data.pairs.dissolved) }) }),
    el('h3', { text: t('kpis.people') }),
    el('div', { class: 'roles' }, data.people.map((r) => el('section', { class: 'box role', dataset: { role: r.role } },
      el('h4', { text: r.name }),
      r.buckets.length
        ? el('dl', { class: 'facts' }, r.buckets.map((b) => [el('dt', { text: b.name }), el('dd', { class: 'num', text: num(b.count) })]))
        : el('p', { class: 'hint', text: t('dash') })))),
    data.notes.length > 0 && el('section', { class: 'notes' },
      el('h3', { text: t('kpis.notes') }), data.notes.map((n) => el('p', { text: n }))));
  state.redraw = () => drawKpiCharts(data);
  drawKpiCharts(data);
}

function drawKpiCharts(data) {
  const chart = $('#kpi-chart');
  const width = Math.max(300, chart.parentElement.clientWidth || 340);
  const left = 4, right = width - 58, rowH = 46, top = 22;
  // 0–100 %, or up to the next quarter above the largest share (112 % → 125 %), ticks every 25 %.
  const scale = Math.ceil(Math.max(1, ...data.indicators.map((k) => Math.max(k.value || 0, k.target || 0))) * 4 - 1e-9) / 4;
  const x = (v) => left + (Math.min(v, scale) / scale) * (right - left);
  const height = top + data.indicators.length * rowH + 4;
  const nodes = [svg('title', {}, t('kpis.chart'))];
  for (let v = 0; v <= scale + 1e-9; v += 0.25) {
    nodes.push(svg('line', { class: 'grid', x1: x(v), x2: x(v), y1: top - 4, y2: height - 4 }),
      svg('text', { class: 'axis', x: x(v), y: 12, 'text-anchor': v === 0 ? 'start' : 'middle' }, pct(v)));
  }
  data.indicators.forEach((k, i) => {
    const y = top + i * rowH;
    const light = ['green', 'yellow', 'red', 'grey'].includes(k.light) ? k.light : 'grey';
    nodes.push(svg('g', { class: 'kpi', dataset: { code: k.code } },
      svg('title', {}, t('kpis.bar', { name: k.name, value: pct(k.value), target: has(k.target) ? pct(k.target) : t('kpis.no_target') })),
      svg('text', { class: 'label', x: left, y: y + 12 }, k.name),
      svg('rect', { class: 'track', x: left, y: y + 18, width: right - left, height: 14, rx: 3 }),
      has(k.value)
        ? svg('rect', { class: `bar light-${light}`, x: left, y: y + 18, width: Math.max(2, x(k.value) - left), height: 14, rx: 3 })
        : svg('text', { class: 'inside', x: left + 6, y: y + 29 }, t('kpis.no_value')),
      has(k.target) && svg('line', { class: 'target', x1: x(k.target), x2: x(k.target), y1: y + 16, y2: y + 36 }),
      has(k.value) && svg('text', { class: 'value', x: right + 6, y: y + 30 }, pct(k.value))));
  });
  sizeSvg(chart, width, height, nodes);

  const stages = $('#stage-chart');
  if (!stages) return;
  const max = Math.max(1, ...data.pairs_by_stage.map((s) => s.count));
  const sRight = width - 40;
  const sx = (v) => left + (v / max) * (sRight - left);
  const sNodes = [svg('title', {}, t('kpis.stages'))];
  data.pairs_by_stage.forEach((s, i) => {
    const y = i * 40;
    sNodes.push(svg('g', { class: 'stage-bar', dataset: { stage: s.stage } },
      svg('title', {}, t('kpis.stage_bar', { name: s.name, pairs: plural('pairs', s.count) })),
      svg('text', { class: 'label', x: left, y: y + 12 }, s.name),
      svg('rect', { class: 'track', x: left, y: y + 18, width: sRight - left, height: 14, rx: 3 }),
      s.count > 0 && svg('rect', { class: 'bar neutral', x: left, y: y + 18, width: Math.max(2, sx(s.count) - left), height: 14, rx: 3 }),
      svg('text', { class: 'value', x: sRight + 6, y: y + 30 }, num(s.count))));
  });
  sizeSvg(stages, width, data.pairs_by_stage.length * 40 + 2, sNodes);
}
const has = (v) => v !== null && v !== undefined;
function sizeSvg(node, width, height, kids) {
  node.setAttribute('viewBox', `0 0 ${width} ${height}`);
  node.setAttribute('width', width);
  node.setAttribute('height', height);
  node.replaceChildren(...kids);
}

// -- 6. district ----------------------------------------------------------------------------------------
async function pageDistrict(main) {
  const data = await api('/api/district');
  const [first, ...rest] = data.headers;
  main.replaceChildren(
    el('h2', { text: t('district.title') }),
    el('p', { class: 'sub' }, t('district.period', { period: data.period }),
      data.as_of && el('span', { class: 'hint', text: ` · ${t('district.as_of', { date: fmtDateTime(data.as_of) })}` })),
    data.rows.length
      ? tableWrap(el('table', { id: 'district', class: 'numbers' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: first }), rest.map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, data.rows.map((r) => el('tr', {},
          el('th', { scope: 'row', text: r.institution }), r.cells.map((c) => el('td', { text: c }))))),
        data.total?.length > 0 && el('tfoot', {}, el('tr', {},
          el('th', { scope: 'row', text: data.total[0] }), data.total.slice(1).map((c) => el('td', { text: c }))))))
      : el('p', { class: 'hint', text: t('district.empty') }));
}

start();
