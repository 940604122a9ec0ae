/** A failure to show under a form or in a dialog (announced by screen readers); nothing without one. */
export function ErrorAlert({ error }: { error: string | null }) {
	if (!error) return null;
	return (
		<p className="field-error" role="alert">
			{error}
		</p>
	);
}
