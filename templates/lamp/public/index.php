<?php
// Front page of the LAMP stack: connects to the database with the credentials
// pier passed in as environment variables, and shows what it found.
declare(strict_types=1);

$host = getenv('DB_HOST') ?: 'db';
$port = (int) (getenv('DB_PORT') ?: 3306);
$name = getenv('DB_NAME') ?: '';
$user = getenv('DB_USER') ?: '';
$password = getenv('DB_PASSWORD') ?: '';

try {
    $pdo = new PDO(
        sprintf('mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4', $host, $port, $name),
        $user,
        $password,
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_TIMEOUT => 5]
    );
    $version = (string) $pdo->query('SELECT VERSION()')->fetchColumn();
    $ok = true;
    $status = sprintf('Connected to database "%s" on %s:%d as %s. Server version: %s', $name, $host, $port, $user, $version);
} catch (PDOException $e) {
    $ok = false;
    $status = sprintf('Could not connect to %s:%d: %s', $host, $port, $e->getMessage());
}

$mysqli = extension_loaded('mysqli') ? 'loaded' : 'missing';
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>It works — LAMP on pier</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 3rem auto; padding: 0 1rem; }
    .ok { color: #11702a; } .error { color: #b00020; }
  </style>
</head>
<body>
  <h1>It works</h1>
  <p>PHP <?= htmlspecialchars(PHP_VERSION) ?> on <?= htmlspecialchars($_SERVER['SERVER_SOFTWARE'] ?? 'Apache') ?> (mysqli <?= $mysqli ?>).</p>
  <p class="<?= $ok ? 'ok' : 'error' ?>"><?= htmlspecialchars($status) ?></p>
  <p>Edit <code>public/index.php</code>; changes show on reload.</p>
</body>
</html>
