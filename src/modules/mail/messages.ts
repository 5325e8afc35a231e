import type { MailMessage } from './transport'

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

function html(title: string, paragraphs: string[], link: string, action: string): string {
  return `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; max-width: 36rem">
<h1 style="font-size: 1.25rem">${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
<p><a href="${escapeHtml(link)}" style="display: inline-block; padding: .5rem 1rem; background: #1d4ed8; color: #fff; text-decoration: none; border-radius: .375rem">${escapeHtml(action)}</a></p>
<p style="color: #555; font-size: .875rem">If the button does not work, copy this address into your browser:<br>${escapeHtml(link)}</p>
</body></html>`
}

export function verifyEmailMessage(to: string, name: string, link: string, hours: number): MailMessage {
  const lines = [
    `Hi ${name},`,
    `Please confirm that ${to} is your email address for Pamps by opening the link below. It works once and expires in ${hours} hours.`,
    'If you did not create a Pamps account, you can ignore this message.',
  ]
  return {
    to,
    subject: 'Confirm your email address for Pamps',
    text: `${lines[0]}\n\n${lines[1]}\n\n${link}\n\n${lines[2]}\n`,
    html: html('Confirm your email address', lines, link, 'Confirm my address'),
  }
}

export function passwordResetMessage(to: string, name: string, link: string, minutes: number): MailMessage {
  const lines = [
    `Hi ${name},`,
    `Someone asked to reset the password of your Pamps account. To choose a new password, open the link below. It works once and expires in ${minutes} minutes; resetting signs you out everywhere.`,
    'If you did not ask for this, ignore this message: your password stays as it is.',
  ]
  return {
    to,
    subject: 'Reset your Pamps password',
    text: `${lines[0]}\n\n${lines[1]}\n\n${link}\n\n${lines[2]}\n`,
    html: html('Reset your password', lines, link, 'Choose a new password'),
  }
}
