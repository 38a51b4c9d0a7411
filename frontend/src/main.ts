// Remit's reference browser client: sign in, see your accounts, make a transfer, watch it finish.
import { type Account, ApiError, type Event, listAccounts, transfer, watch } from './api';
import { accessToken, completeSignIn, signIn, signOut } from './auth';

const app = document.querySelector<HTMLElement>('#app')!;

function html(strings: TemplateStringsArray, ...values: unknown[]): string {
  const escape = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return strings.reduce((out, s, i) => out + s + (i < values.length ? escape(values[i]) : ''), '');
}

function showSignedOut(message = ''): void {
  app.innerHTML = html`<h1>Remit</h1><p class="error">${message}</p>` + '<button id="sign-in">Sign in</button>';
  app.querySelector('#sign-in')!.addEventListener('click', () => signIn());
}

function describe(event: Event): string {
  const outcome = event.status === 'rejected' ? `rejected: ${event.reason}` : event.status;
  return `Transfer of ${event.amount} ${event.currency}: ${outcome}`;
}

async function showAccounts(): Promise<void> {
  const accounts = await listAccounts();
  const rows = accounts.map(
    (a: Account) =>
      html`<tr data-account="${a.id}"><td><code>${a.id}</code></td><td>${a.currency}</td>` +
      html`<td class="balance">${a.balance}</td><td>${a.available_balance}</td><td>${a.status}</td></tr>`,
  );
  const options = accounts
    .filter((a) => a.status === 'active')
    .map((a) => html`<option value="${a.id}">${a.currency} ${a.balance} (${a.id.slice(0, 8)})</option>`);
  app.innerHTML = `
    <h1>Your accounts</h1> <button id="sign-out">Sign out</button>
    <table id="accounts">
      <thead><tr><th>Account</th><th>Currency</th><th>Balance</th><th>Available</th><th>Status</th></tr></thead>
      <tbody>${rows.join('')}</tbody>
    </table>
    <h2>Transfer</h2>
    <form id="transfer">
      <label>From <select name="from_account" required>${options.join('')}</select></label>
      <label>To account <input name="to_account" required placeholder="account id"></label>
      <label>Amount <input name="amount" required inputmode="decimal" placeholder="12.50"></label>
      <label>Memo <input name="memo" maxlength="140"></label>
      <button type="submit">Send</button>
    </form>
    <p id="status" role="status"></p>`;
  app.querySelector('#sign-out')!.addEventListener('click', () => {
    signOut();
    showSignedOut();
  });
  app.querySelector<HTMLFormElement>('#transfer')!.addEventListener('submit', onTransfer);
}

async function onTransfer(submit: SubmitEvent): Promise<void> {
  submit.preventDefault();
  const form = submit.target as HTMLFormElement;
  const status = app.querySelector<HTMLElement>('#status')!;
  const data = new FormData(form);
  const field = (name: string) => String(data.get(name) ?? '').trim();
  form.querySelector('button')!.disabled = true;
  status.className = '';
  status.textContent = 'Sending…';
  try {
    const receipt = await transfer({
      from_account: field('from_account'),
      to_account: field('to_account'),
      amount: field('amount'),
      memo: field('memo'),
    });
    status.textContent = describe(receipt.event);
    // 200: already final (the server waited). 202: pending; follow Location until it is final.
    const final = receipt.event.status === 'pending'
      ? await watch(receipt.location, (event) => (status.textContent = describe(event)))
      : receipt.event;
    await showAccounts();
    const shown = app.querySelector<HTMLElement>('#status')!;
    shown.textContent = describe(final);
    shown.className = final.status;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showSignedOut('Your session ended: sign in again.');
    status.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
    status.className = 'error';
    form.querySelector('button')!.disabled = false;
  }
}

async function start(): Promise<void> {
  try {
    await completeSignIn();
  } catch (error) {
    return showSignedOut(String(error));
  }
  if (accessToken() === null) return showSignedOut();
  try {
    await showAccounts();
  } catch (error) {
    signOut();
    showSignedOut(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error));
  }
}

start();
