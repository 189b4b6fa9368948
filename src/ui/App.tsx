export function App() {
  return (
    <main>
      <h1>webflash</h1>
      <p>Update microcontroller firmware from this page.</p>
    </main>
  );
}
