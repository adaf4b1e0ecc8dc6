// The dashboard's only script: small touches. Every action works without it.
'use strict';
document.addEventListener('click', (ev) => {
	const b = ev.target.closest('button.copy');
	if (!b)
		return;
	const el = document.getElementById(b.dataset.copy);
	if (!el)
		return;
	navigator.clipboard.writeText(el.value || el.textContent).then(() => {
		b.textContent = 'Copied';
	}, () => {
		el.select();
	});
});
