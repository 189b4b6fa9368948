/** An error with its headline, message and the steps to take, chosen by the error's code. */
import type { ErrorView } from '../state/index.ts';
import { errorSteps, errorTitle } from './error-text.ts';

export function ErrorBox(props: {
  error: ErrorView;
  /** The engine's recovery text (what state the board is in and what to do next). */
  recovery?: string | undefined;
  testId?: string;
}) {
  const { error, recovery } = props;
  const steps = errorSteps(error);
  return (
    <div className="error-box" role="alert" data-testid={props.testId} data-code={error.code}>
      <p className="error-title">{errorTitle(error)}</p>
      <p className="error-message">{error.message}</p>
      {recovery && <p className="error-recovery">{recovery}</p>}
      {steps.length > 0 && (
        <>
          <p className="error-steps-title">What to do</p>
          <ol className="error-steps">
            {steps.map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ol>
        </>
      )}
      <p className="error-code">
        Error code <code>{error.code}</code>
        {error.reason && (
          <>
            {' '}
            (<code>{error.reason}</code>)
          </>
        )}
      </p>
    </div>
  );
}
