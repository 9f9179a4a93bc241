<?php
/**
 * Runs affdesk.php's hooks without WHMCS, against a real affdesk (or a stub).
 *
 *   php harness.php --url URL --token TOKEN --state DIR [--send-email] STEP
 *
 * STEP: card-order, paypal-order, trial-order, renewal, partial-refund, refund, cancel, cron
 * (see "steps" in fixtures.json). DIR holds the queue and this run's settings file, so the
 * queue survives from one step to the next.
 *
 * WHMCS is replaced by: the WHMCS constant, add_hook (records each hook with its priority),
 * localAPI (answers from fixtures.json by command and params) and logActivity (collects and
 * prints each line). The last line of stdout is one JSON object:
 *   {"step", "activity": [lines], "queued": N, "sent": [{"path", "status", "error"}],
 *    "unanswered_localapi": [calls with no fixture]}
 * Exit status: 0; 1 when an exception escaped a hook (the module must never let one out);
 * 2 for a usage error.
 */

declare(strict_types=1);

const HARNESS_STEPS = ['card-order', 'paypal-order', 'trial-order', 'renewal', 'partial-refund', 'refund', 'cancel', 'cron'];

define('WHMCS', true);

$GLOBALS['harness_hooks'] = [];
$GLOBALS['harness_activity'] = [];
$GLOBALS['harness_fixtures'] = [];
$GLOBALS['harness_unanswered'] = [];

/** WHMCS's add_hook: remembered per hook name, run lowest priority first. */
function add_hook(string $hook, int $priority, callable $function): void
{
    $GLOBALS['harness_hooks'][$hook][] = ['priority' => $priority, 'function' => $function];
}

/** WHMCS's logActivity: collected for the report and printed as it happens. */
function logActivity(string $message, int $userId = 0): void
{
    $GLOBALS['harness_activity'][] = $message;
    fwrite(STDOUT, "[activity] $message\n");
}

/** WHMCS's localAPI: the fixture with the same command and params, else an error answer. */
function localAPI(string $command, array $params = [], string $adminUser = ''): array
{
    $wanted = harness_normalize($params);
    foreach ($GLOBALS['harness_fixtures'] as $fixture) {
        if ($fixture['command'] === $command && harness_normalize($fixture['params']) === $wanted) {
            return $fixture['response'];
        }
    }
    $GLOBALS['harness_unanswered'][] = ['command' => $command, 'params' => $params];
    return ['result' => 'error', 'message' => "no fixture for $command " . json_encode($params)];
}

/** Params compared as WHMCS sees them: every value a string, keys in order. */
function harness_normalize(array $params): array
{
    $normal = [];
    foreach ($params as $key => $value) {
        $normal[(string) $key] = is_bool($value) ? ($value ? '1' : '0') : (string) $value;
    }
    ksort($normal);
    return $normal;
}

function harness_usage(string $problem): void
{
    fwrite(STDERR, "$problem\nusage: php harness.php --url URL --token TOKEN --state DIR [--send-email] STEP\n"
        . 'STEP: ' . implode(', ', HARNESS_STEPS) . "\n");
    exit(2);
}

/** --url, --token, --state, --send-email and the step. */
function harness_arguments(array $argv): array
{
    $options = ['url' => null, 'token' => null, 'state' => null, 'send_email' => false, 'step' => null];
    for ($i = 1; $i < count($argv); $i++) {
        $arg = $argv[$i];
        if (in_array($arg, ['--url', '--token', '--state'], true)) {
            if (!isset($argv[$i + 1])) {
                harness_usage("$arg needs a value");
            }
            $options[substr($arg, 2)] = $argv[++$i];
        } elseif ($arg === '--send-email') {
            $options['send_email'] = true;
        } elseif ($options['step'] === null && strpos($arg, '--') !== 0) {
            $options['step'] = $arg;
        } else {
            harness_usage("unexpected argument $arg");
        }
    }
    foreach (['url', 'token', 'state', 'step'] as $required) {
        if ($options[$required] === null) {
            harness_usage("missing " . ($required === 'step' ? 'STEP' : "--$required"));
        }
    }
    if (!in_array($options['step'], HARNESS_STEPS, true)) {
        harness_usage("unknown step {$options['step']}");
    }
    return $options;
}

/** Writes this run's settings into the state directory and returns the file's path. */
function harness_write_config(array $options): string
{
    $dir = rtrim($options['state'], '/');
    if (!is_dir($dir) && !mkdir($dir, 0700, true)) {
        harness_usage("cannot create $dir");
    }
    $config = [
        'url' => $options['url'],
        'token' => $options['token'],
        'queue_dir' => $dir . '/queue',
        'send_email' => $options['send_email'],
        'timeout_seconds' => 5,
        'connect_timeout_seconds' => 3,
        'order_id_field' => 'id',
        'whmcs_timezone' => 'Europe/Berlin',
        'debug' => true,
    ];
    // Written aside and renamed, so harness runs at the same time never read half a file.
    $file = $dir . '/harness_config.php';
    $temporary = $file . '.' . getmypid() . '.tmp';
    file_put_contents($temporary, "<?php\nreturn " . var_export($config, true) . ";\n");
    rename($temporary, $file);
    return $file;
}

/** The shared localAPI answers, with the step's own ones first. */
function harness_load_fixtures(string $step): array
{
    $all = json_decode((string) file_get_contents(__DIR__ . '/fixtures.json'), true, 512, JSON_THROW_ON_ERROR);
    $stepData = $all['steps'][$step];
    $GLOBALS['harness_fixtures'] = array_merge($stepData['localapi'] ?? [], $all['localapi']);
    return $stepData['hooks'];
}

/** Runs every function registered for a hook, in priority order; counts what escapes. */
function harness_run_hook(string $hook, array $vars): int
{
    $registered = $GLOBALS['harness_hooks'][$hook] ?? [];
    usort($registered, static function (array $a, array $b): int {
        return $a['priority'] <=> $b['priority'];
    });
    fwrite(STDOUT, "[hook] $hook " . json_encode($vars) . ' (' . count($registered) . " registered)\n");
    $escaped = 0;
    foreach ($registered as $entry) {
        try {
            ($entry['function'])($vars);
        } catch (Throwable $e) {
            $escaped++;
            fwrite(STDOUT, "[escaped] $hook: " . get_class($e) . ': ' . $e->getMessage() . "\n");
        }
    }
    return $escaped;
}

function harness_main(array $argv): int
{
    $options = harness_arguments($argv);
    define('AFFDESK_WHMCS_CONFIG', harness_write_config($options));
    $hooks = harness_load_fixtures($options['step']);
    require __DIR__ . '/../affdesk.php';

    $escaped = 0;
    foreach ($hooks as $hook) {
        $escaped += harness_run_hook($hook['hook'], $hook['vars']);
    }
    $report = [
        'step' => $options['step'],
        'activity' => $GLOBALS['harness_activity'],
        'queued' => affdesk_queue_count(affdesk_config()),
        'sent' => affdesk_record_sent(),
        'unanswered_localapi' => $GLOBALS['harness_unanswered'],
    ];
    fwrite(STDOUT, json_encode($report, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");
    return $escaped > 0 ? 1 : 0;
}

exit(harness_main($argv));
