<?php
/**
 * affdesk for WHMCS: reports new signups, refunds and cancellations to affdesk.
 *
 * Copy this file and affdesk_config.php into WHMCS's includes/hooks/ (see README.md).
 *
 * What it sends, and when:
 *   - a signup (POST /api/v1/signups) once, when the FIRST invoice of a new order is paid
 *     (InvoicePaid); renewal, add-funds and other invoices are not orders' first invoices and
 *     are never reported;
 *   - a free order (no invoice, total 0.00) as a trial when it is accepted (AcceptOrder), or at
 *     checkout when WHMCS already activated it there (AfterShoppingCartCheckout);
 *   - a refund reversal per refund transaction of an order's first invoice (InvoiceRefunded for
 *     full refunds; AddTransaction for partial ones, which never mark an invoice Refunded);
 *   - a cancellation reversal when a cancellation request is filed for a service of a reported
 *     order (CancellationRequest);
 *   - the local queue of calls affdesk did not accept yet, on every WHMCS cron run (AfterCronJob).
 *
 * It never breaks a checkout or an admin action: every hook catches every Throwable and writes
 * it to the Activity Log as "affdesk: ...". Failed calls wait in a local queue (a file under
 * queue_dir, guarded with flock) and are resent by the cron until affdesk accepts them; order_id
 * and reversal_id make every resend safe.
 *
 * PHP 7.4 to 8.x. Every function is prefixed affdesk_.
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

if (!function_exists('affdesk_guard')) {

    // ------------------------------------------------------------------------------------------
    // Settings
    // ------------------------------------------------------------------------------------------

    /** The settings used when affdesk_config.php leaves one out. */
    function affdesk_default_config(): array
    {
        return [
            'url' => '',
            'token' => '',
            'card_gateways' => [
                'stripe', 'authorize', 'authorizenet', 'authorizecim', 'braintree', 'payflowpro',
                'paypalpaymentspro', 'paypalpaymentsproref', 'quantumgateway', 'sagepaytokens',
                'ewaytokens', 'usaepay', 'bluepay', 'offlinecc',
            ],
            'moderated_gateways' => ['paypal', 'paypalcheckout', 'paypal_ppcpv', 'banktransfer', 'mailin'],
            'gateway_methods' => [
                'paypal' => 'paypal',
                'paypalcheckout' => 'paypal',
                'paypal_ppcpv' => 'paypal',
                'mailin' => 'check',
                'worldpay' => 'worldpay',
                'tco' => '2checkout',
            ],
            'send_email' => false,
            'timeout_seconds' => 5,
            'connect_timeout_seconds' => 3,
            'queue_dir' => __DIR__ . DIRECTORY_SEPARATOR . 'affdesk_queue',
            'order_id_field' => 'id',
            'whmcs_timezone' => '',
            'admin_user' => '',
            'debug' => false,
        ];
    }

    /** The file the settings are read from: AFFDESK_WHMCS_CONFIG if defined, else beside this file. */
    function affdesk_config_file(): string
    {
        if (defined('AFFDESK_WHMCS_CONFIG')) {
            return (string) constant('AFFDESK_WHMCS_CONFIG');
        }
        return __DIR__ . DIRECTORY_SEPARATOR . 'affdesk_config.php';
    }

    /** The settings, read once per PHP process. */
    function affdesk_config(): array
    {
        static $config = null;
        if ($config === null) {
            $config = affdesk_normalize_config(affdesk_read_config_file(affdesk_config_file()));
        }
        return $config;
    }

    /**
     * The array the settings file returns. `require`, not `require_once`: WHMCS loads every
     * file in includes/hooks/ itself, so the file may have been included once already.
     */
    function affdesk_read_config_file(string $file): array
    {
        if (!is_file($file)) {
            return [];
        }
        $loaded = (static function (string $path) {
            return require $path;
        })($file);
        if (!is_array($loaded)) {
            affdesk_log("the settings file $file does not return an array; using the defaults");
            return [];
        }
        return $loaded;
    }

    /** Defaults filled in, gateway names lower-cased, numbers bounded. */
    function affdesk_normalize_config(array $loaded): array
    {
        $config = array_merge(affdesk_default_config(), $loaded);
        $config['url'] = rtrim(trim((string) $config['url']), '/');
        $config['token'] = trim((string) $config['token']);
        $config['card_gateways'] = affdesk_lower_list($config['card_gateways']);
        $config['moderated_gateways'] = affdesk_lower_list($config['moderated_gateways']);
        $methods = [];
        foreach ((array) $config['gateway_methods'] as $gateway => $method) {
            $methods[strtolower(trim((string) $gateway))] = (string) $method;
        }
        $config['gateway_methods'] = $methods;
        $config['send_email'] = (bool) $config['send_email'];
        $config['debug'] = (bool) $config['debug'];
        $config['timeout_seconds'] = max(1, min(60, (int) $config['timeout_seconds']));
        $config['connect_timeout_seconds'] = max(1, min(
            $config['timeout_seconds'],
            (int) $config['connect_timeout_seconds']
        ));
        $config['queue_dir'] = rtrim((string) $config['queue_dir'], '/\\');
        if ($config['queue_dir'] === '') {
            $config['queue_dir'] = affdesk_default_config()['queue_dir'];
        }
        $config['order_id_field'] = $config['order_id_field'] === 'ordernum' ? 'ordernum' : 'id';
        $config['whmcs_timezone'] = (string) $config['whmcs_timezone'];
        $config['admin_user'] = (string) $config['admin_user'];
        return $config;
    }

    function affdesk_lower_list($value): array
    {
        $list = [];
        foreach ((array) $value as $item) {
            $list[] = strtolower(trim((string) $item));
        }
        return $list;
    }

    function affdesk_configured(array $config): bool
    {
        return $config['url'] !== '' && $config['token'] !== '';
    }

    // ------------------------------------------------------------------------------------------
    // Activity Log
    // ------------------------------------------------------------------------------------------

    /** One line in WHMCS's Activity Log (Utilities > Logs > Activity Log), prefixed "affdesk: ". */
    function affdesk_log(string $message): void
    {
        $line = 'affdesk: ' . $message;
        if (function_exists('logActivity')) {
            logActivity($line);
        } else {
            error_log($line);
        }
    }

    /** A line only when the settings say debug => true (skipped invoices and the like). */
    function affdesk_debug(string $message): void
    {
        if (affdesk_config()['debug']) {
            affdesk_log($message);
        }
    }

    // ------------------------------------------------------------------------------------------
    // WHMCS data (localAPI)
    // ------------------------------------------------------------------------------------------

    /** A localAPI call; throws when WHMCS answers with an error. */
    function affdesk_api(string $command, array $params): array
    {
        $admin = affdesk_config()['admin_user'];
        $result = $admin !== '' ? localAPI($command, $params, $admin) : localAPI($command, $params);
        if (!is_array($result) || ($result['result'] ?? '') !== 'success') {
            $why = is_array($result) ? (string) ($result['message'] ?? 'no message') : 'no answer';
            throw new RuntimeException("WHMCS $command " . json_encode($params) . " failed: $why");
        }
        return $result;
    }

    /**
     * The records of a WHMCS list answer such as orders.order[] or items.item[]: WHMCS leaves the
     * wrapper empty (or a string) when there are none, and some versions give a lone record
     * unwrapped.
     */
    function affdesk_records($wrapper, string $key): array
    {
        if (!is_array($wrapper) || !isset($wrapper[$key]) || !is_array($wrapper[$key])) {
            return [];
        }
        $inner = $wrapper[$key];
        if ($inner !== [] && array_keys($inner) !== range(0, count($inner) - 1)) {
            return [$inner];
        }
        return array_values(array_filter($inner, 'is_array'));
    }

    function affdesk_invoice(int $invoiceId): array
    {
        return affdesk_api('GetInvoice', ['invoiceid' => $invoiceId]);
    }

    function affdesk_order(int $orderId): ?array
    {
        $answer = affdesk_api('GetOrders', ['id' => $orderId]);
        foreach (affdesk_records($answer['orders'] ?? null, 'order') as $order) {
            if ((int) ($order['id'] ?? 0) === $orderId) {
                return $order;
            }
        }
        return null;
    }

    /**
     * The order whose first invoice this is, or null (a renewal, add-funds or manual invoice).
     * GetOrders cannot filter by invoice, so this reads the client's newest 100 orders and
     * matches their invoiceid.
     */
    function affdesk_order_of_first_invoice(array $invoice, int $invoiceId): ?array
    {
        $clientId = (int) ($invoice['userid'] ?? 0);
        if ($clientId <= 0 || $invoiceId <= 0) {
            return null;
        }
        $answer = affdesk_api('GetOrders', ['userid' => $clientId, 'limitnum' => 100]);
        foreach (affdesk_records($answer['orders'] ?? null, 'order') as $order) {
            if ((int) ($order['invoiceid'] ?? 0) === $invoiceId) {
                return $order;
            }
        }
        return null;
    }

    function affdesk_client(int $clientId): array
    {
        $answer = affdesk_api('GetClientsDetails', ['clientid' => $clientId]);
        $client = isset($answer['client']) && is_array($answer['client']) ? $answer['client'] : [];
        return $client + $answer;
    }

    function affdesk_service(int $serviceId, int $clientId): ?array
    {
        $params = $clientId > 0 ? ['clientid' => $clientId, 'serviceid' => $serviceId] : ['serviceid' => $serviceId];
        $answer = affdesk_api('GetClientsProducts', $params);
        foreach (affdesk_records($answer['products'] ?? null, 'product') as $product) {
            if ((int) ($product['id'] ?? 0) === $serviceId) {
                return $product;
            }
        }
        return null;
    }

    /**
     * The service, or null with a log line when WHMCS cannot say: the signup is still reported,
     * with the product line's name and domain instead.
     */
    function affdesk_service_or_null(int $serviceId, int $clientId): ?array
    {
        try {
            return affdesk_service($serviceId, $clientId);
        } catch (Throwable $e) {
            affdesk_log("service $serviceId: " . $e->getMessage() . '; reporting the signup without its username and product id');
            return null;
        }
    }

    /** The order's first product line (type "product"), or null for a domain- or addon-only order. */
    function affdesk_first_product_line(array $order): ?array
    {
        foreach (affdesk_records($order['lineitems'] ?? null, 'lineitem') as $line) {
            if (strtolower((string) ($line['type'] ?? '')) === 'product') {
                return $line;
            }
        }
        return null;
    }

    /** The first domain named on the order's lines. */
    function affdesk_first_domain(array $order): string
    {
        foreach (affdesk_records($order['lineitems'] ?? null, 'lineitem') as $line) {
            if (trim((string) ($line['domain'] ?? '')) !== '') {
                return (string) $line['domain'];
            }
        }
        return '';
    }

    // ------------------------------------------------------------------------------------------
    // Values as affdesk wants them
    // ------------------------------------------------------------------------------------------

    /** "19.95": a decimal string >= 0 with two decimals. */
    function affdesk_money($value): string
    {
        $number = is_numeric($value) ? (float) $value : 0.0;
        return number_format(max(0.0, $number), 2, '.', '');
    }

    /** Text without control characters, at most $max characters (affdesk refuses both). */
    function affdesk_text($value, int $max = 255): string
    {
        if (!is_scalar($value)) {
            return '';
        }
        $text = (string) $value;
        $clean = preg_replace('/\p{Cc}+/u', '', $text);
        if ($clean === null) {
            // Not UTF-8: keep the printable ASCII.
            $clean = (string) preg_replace('/[^\x20-\x7E]+/', '', $text);
        }
        $clean = trim($clean);
        if (preg_match('/^.{0,' . $max . '}/us', $clean, $match) === 1) {
            return $match[0];
        }
        return substr($clean, 0, $max);
    }

    /** A WHMCS date ("2026-11-22 11:15:00", in WHMCS's time zone) as RFC 3339 UTC, or null. */
    function affdesk_utc($value, array $config): ?string
    {
        try {
            if ($value instanceof DateTimeInterface) {
                $time = new DateTimeImmutable('@' . $value->getTimestamp());
            } else {
                $text = trim((string) $value);
                if ($text === '' || strpos($text, '0000-00-00') === 0) {
                    return null;
                }
                $zone = $config['whmcs_timezone'] !== '' ? $config['whmcs_timezone'] : date_default_timezone_get();
                $time = new DateTimeImmutable($text, new DateTimeZone($zone));
            }
        } catch (Throwable $e) {
            return null;
        }
        return $time->setTimezone(new DateTimeZone('UTC'))->format('Y-m-d\TH:i:s\Z');
    }

    function affdesk_gateway_is_moderated(string $gateway, array $config): bool
    {
        return in_array(strtolower($gateway), $config['moderated_gateways'], true);
    }

    /** affdesk's payment_method for a WHMCS gateway module name. */
    function affdesk_payment_method(string $gateway, array $config): string
    {
        $gateway = strtolower(trim($gateway));
        $allowed = ['credit_card', 'check', 'paypal', 'worldpay', '2checkout', 'gestpay', 'other'];
        $mapped = $config['gateway_methods'][$gateway] ?? null;
        if ($mapped !== null && in_array($mapped, $allowed, true)) {
            return $mapped;
        }
        if (in_array($gateway, $config['card_gateways'], true)) {
            return 'credit_card';
        }
        return 'other';
    }

    /** The gateway that took the payment: the first incoming transaction's, else the invoice's. */
    function affdesk_paying_gateway(array $invoice, array $order): string
    {
        foreach (affdesk_records($invoice['transactions'] ?? null, 'transaction') as $transaction) {
            if ((float) ($transaction['amountin'] ?? 0) > 0 && ($transaction['gateway'] ?? '') !== '') {
                return (string) $transaction['gateway'];
            }
        }
        $gateway = (string) ($invoice['paymentmethod'] ?? '');
        return $gateway !== '' ? $gateway : (string) ($order['paymentmethod'] ?? '');
    }

    /** The order_id affdesk knows this order by: its id, or its order number if configured. */
    function affdesk_order_key(array $order, array $config): string
    {
        if ($config['order_id_field'] === 'ordernum' && trim((string) ($order['ordernum'] ?? '')) !== '') {
            return affdesk_text($order['ordernum'], 128);
        }
        return (string) (int) ($order['id'] ?? 0);
    }

    function affdesk_email_is_plausible(string $email): bool
    {
        return preg_match('/^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$/', $email) === 1 && strlen($email) <= 254;
    }

    // ------------------------------------------------------------------------------------------
    // Bodies
    // ------------------------------------------------------------------------------------------

    /**
     * The signup body for an order. $invoice is its paid first invoice, or null for a free order
     * (a trial). Empty optional fields are left out.
     */
    function affdesk_signup_body(array $order, ?array $invoice, array $config): array
    {
        $clientId = (int) ($order['userid'] ?? 0);
        $client = affdesk_client($clientId);
        $line = affdesk_first_product_line($order);
        $service = $line !== null ? affdesk_service_or_null((int) ($line['relid'] ?? 0), $clientId) : null;

        $gateway = $invoice !== null ? affdesk_paying_gateway($invoice, $order) : (string) ($order['paymentmethod'] ?? '');
        $trial = $invoice === null || (float) ($invoice['total'] ?? 0) <= 0.0;
        $needsAcceptance = !in_array((string) ($order['status'] ?? ''), ['Active', 'Completed'], true);

        $body = [
            'order_id' => affdesk_order_key($order, $config),
            'payment_method' => affdesk_payment_method($gateway, $config),
            'amount' => affdesk_money($invoice['subtotal'] ?? 0),
            'full_amount' => affdesk_money($invoice['total'] ?? 0),
            // A trial moves no money, so its gateway says nothing; a paid order is moderated when
            // its gateway is, or when it still waits for an admin to accept it after payment
            // (InvoicePaid runs after WHMCS's own payment automation, auto-acceptance included).
            'moderated' => !$trial && (affdesk_gateway_is_moderated($gateway, $config) || $needsAcceptance),
            'trial' => $trial,
        ];
        $optional = [
            'account_id' => $clientId > 0 ? (string) $clientId : '',
            'user_name' => $service['username'] ?? '',
            'domain' => ($service['domain'] ?? '') !== '' ? $service['domain'] : affdesk_first_domain($order),
            'plan_id' => isset($service['pid']) ? (string) $service['pid'] : '',
            'plan_name' => ($service['name'] ?? '') !== '' ? $service['name'] : ($line['product'] ?? ''),
            'currency' => strtoupper((string) ($client['currency_code'] ?? '')),
        ];
        if ($config['send_email'] && affdesk_email_is_plausible((string) ($client['email'] ?? ''))) {
            $optional['email'] = (string) $client['email'];
        }
        foreach ($optional as $field => $value) {
            $text = affdesk_text($value);
            if ($text !== '' && ($field !== 'currency' || preg_match('/^[A-Z]{3}$/', $text) === 1)) {
                $body[$field] = $text;
            }
        }
        $signupTime = affdesk_utc($order['date'] ?? '', $config);
        if ($signupTime !== null) {
            $body['signup_time'] = $signupTime;
        }
        return $body;
    }

    /**
     * A refund reversal for one refund transaction. A partial refund carries its amount in the
     * signup's terms: the signup's amount is the invoice before tax, the refund is money with
     * tax, so the refund is scaled by subtotal / total (affdesk refuses more than the signup's
     * amount). A full refund carries no amount: all of it.
     */
    function affdesk_refund_body(int $invoiceId, array $transaction, array $invoice, array $config): array
    {
        $body = [
            'reason' => 'refund',
            'reversal_id' => 'whmcs-refund-' . $invoiceId . '-' . (int) ($transaction['id'] ?? 0),
        ];
        $partial = affdesk_partial_refund_amount(
            (float) ($transaction['amountout'] ?? 0),
            (float) ($invoice['subtotal'] ?? 0),
            (float) ($invoice['total'] ?? 0)
        );
        if ($partial !== null) {
            $body['amount'] = $partial;
        }
        $time = affdesk_utc($transaction['date'] ?? '', $config);
        if ($time !== null) {
            $body['time'] = $time;
        }
        return $body;
    }

    /** A refund of $refunded (with tax) as a before-tax amount, or null when it is the whole invoice. */
    function affdesk_partial_refund_amount(float $refunded, float $subtotal, float $total): ?string
    {
        if ($refunded <= 0.0 || $total <= 0.0 || $refunded >= $total) {
            return null;
        }
        return affdesk_money(min($subtotal, round($refunded * $subtotal / $total, 2)));
    }

    /** The refund transactions (money out) recorded on an invoice. */
    function affdesk_refund_transactions(array $invoice): array
    {
        $refunds = [];
        foreach (affdesk_records($invoice['transactions'] ?? null, 'transaction') as $transaction) {
            if ((float) ($transaction['amountout'] ?? 0) > 0) {
                $refunds[] = $transaction;
            }
        }
        return $refunds;
    }

    /** Whether an order was reported as a signup: its first invoice paid, or a free order accepted. */
    function affdesk_order_was_reported(array $order): bool
    {
        $invoiceId = (int) ($order['invoiceid'] ?? 0);
        if ($invoiceId === 0) {
            return (float) ($order['amount'] ?? 0) <= 0.0
                && !in_array((string) ($order['status'] ?? ''), ['Pending', 'Fraud'], true);
        }
        $status = (string) (affdesk_invoice($invoiceId)['status'] ?? '');
        return in_array($status, ['Paid', 'Refunded', 'Collections'], true);
    }

    // ------------------------------------------------------------------------------------------
    // Calls to affdesk
    // ------------------------------------------------------------------------------------------

    /** A call to make: the path, the body, a label for the log, and the order it belongs to. */
    function affdesk_item(string $path, array $body, string $label, string $orderKey): array
    {
        return [
            'id' => bin2hex(random_bytes(8)),
            'path' => $path,
            'body' => $body,
            'label' => $label,
            'order' => $orderKey,
            'queued_at' => gmdate('Y-m-d\TH:i:s\Z'),
            'attempts' => 0,
            'last_error' => '',
        ];
    }

    function affdesk_signup_item(array $body): array
    {
        return affdesk_item('/api/v1/signups', $body, 'signup ' . $body['order_id'], $body['order_id']);
    }

    function affdesk_reversal_item(string $orderKey, array $body): array
    {
        $path = '/api/v1/signups/' . rawurlencode($orderKey) . '/reversals';
        return affdesk_item($path, $body, $body['reason'] . ' ' . $body['reversal_id'] . ' of order ' . $orderKey, $orderKey);
    }

    /**
     * Every call made in this PHP process, as {path, status, error}: for the test harness and
     * for anyone debugging. Call with no argument to read.
     */
    function affdesk_record_sent(?array $entry = null): array
    {
        static $sent = [];
        if ($entry !== null) {
            $sent[] = $entry;
        }
        return $sent;
    }

    /** One POST: {status (0 = no answer), body, error}. Never throws. */
    function affdesk_http_post(string $path, array $body, array $config): array
    {
        $json = json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if (!function_exists('curl_init')) {
            return ['status' => 0, 'body' => '', 'error' => 'the PHP curl extension is not installed'];
        }
        if ($json === false) {
            return ['status' => 0, 'body' => '', 'error' => 'could not encode the body: ' . json_last_error_msg()];
        }
        $curl = curl_init($config['url'] . $path);
        curl_setopt_array($curl, [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $json,
            CURLOPT_HTTPHEADER => [
                'Authorization: Bearer ' . $config['token'],
                'Content-Type: application/json',
                'Accept: application/json',
                'User-Agent: affdesk-whmcs/1.0',
            ],
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_CONNECTTIMEOUT => $config['connect_timeout_seconds'],
            CURLOPT_TIMEOUT => $config['timeout_seconds'],
        ]);
        $answer = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $error = $answer === false ? curl_error($curl) : '';
        unset($curl); // closes it (curl_close is a no-op from PHP 8.0 and deprecated later)
        $result = ['status' => $answer === false ? 0 : $status, 'body' => is_string($answer) ? $answer : '', 'error' => $error];
        affdesk_record_sent(['path' => $path, 'status' => $result['status'], 'error' => $error]);
        return $result;
    }

    /**
     * What an answer means for the call:
     *   "ok"    2xx (201 new, 200 the same call again);
     *   "retry" no answer, 401/403 (the token can be fixed), 3xx, 405 and a 404 that is not
     *           affdesk's own "no such signup" (the url can be fixed), 408, 425, 429, 5xx:
     *           the call stays in the queue;
     *   "drop"  affdesk's 404 for a reversal (no such signup), 409, 422 and any other 4xx:
     *           resending the same body cannot succeed.
     */
    function affdesk_outcome(array $item, array $response): string
    {
        $status = $response['status'];
        if ($status >= 200 && $status < 300) {
            return 'ok';
        }
        if ($status === 0 || ($status >= 300 && $status < 400) || $status >= 500
            || in_array($status, [401, 403, 405, 408, 425, 429], true)) {
            return 'retry';
        }
        if ($status === 404) {
            $isReversal = substr($item['path'], -strlen('/reversals')) === '/reversals';
            return $isReversal && affdesk_is_problem_json($response['body']) ? 'drop' : 'retry';
        }
        return 'drop';
    }

    /** Whether an answer body is affdesk's application/problem+json (not a web server's page). */
    function affdesk_is_problem_json(string $body): bool
    {
        $problem = json_decode($body, true);
        return is_array($problem) && (isset($problem['title']) || isset($problem['error']) || isset($problem['detail']));
    }

    /** Whether a retry is about affdesk as a whole (stop the cron run) rather than this one call. */
    function affdesk_failure_is_global(int $status): bool
    {
        return $status < 500;
    }

    /** A short account of an answer: the problem+json details when there are any. */
    function affdesk_describe(array $response): string
    {
        if ($response['status'] === 0) {
            return 'no answer (' . ($response['error'] !== '' ? $response['error'] : 'unknown error') . ')';
        }
        $text = 'HTTP ' . $response['status'];
        $problem = json_decode($response['body'], true);
        if (is_array($problem)) {
            $parts = [];
            foreach ((array) ($problem['errors'] ?? []) as $error) {
                if (is_array($error)) {
                    $parts[] = ($error['field'] ?? '?') . ': ' . ($error['message'] ?? '');
                }
            }
            if ($parts === [] && isset($problem['detail'])) {
                $parts[] = (string) $problem['detail'];
            }
            if ($parts !== []) {
                $text .= ' - ' . implode('; ', $parts);
            }
        } elseif (trim($response['body']) !== '') {
            $text .= ' - ' . affdesk_text($response['body'], 200);
        }
        return affdesk_text($text . affdesk_retry_hint($response['status']), 600);
    }

    /** What to check when a call keeps failing. */
    function affdesk_retry_hint(int $status): string
    {
        if ($status === 401 || $status === 403) {
            return ' - check token in affdesk_config.php';
        }
        if ($status === 404 || $status === 405 || ($status >= 300 && $status < 400)) {
            return ' - check url in affdesk_config.php';
        }
        return '';
    }

    /** What a refusal most likely means, for the Activity Log. */
    function affdesk_drop_hint(int $status): string
    {
        $hints = [
            404 => ' (affdesk has no signup with this order_id: it was never reported, or was refused)',
            409 => ' (affdesk already has this order_id or reversal_id with other details: reported before)',
            422 => ' (affdesk refused the fields named)',
        ];
        return $hints[$status] ?? '';
    }

    /** Sends one call and logs what happened; returns its outcome and the answer. */
    function affdesk_deliver(array $item, array $config): array
    {
        $response = affdesk_http_post($item['path'], $item['body'], $config);
        $outcome = affdesk_outcome($item, $response);
        $label = $item['label'];
        if ($outcome === 'ok') {
            affdesk_log($response['status'] === 200
                ? "$label: affdesk already had it with the same details (200)"
                : "$label reported ({$response['status']})");
        } elseif ($outcome === 'drop') {
            affdesk_log("$label refused for good, not resent: " . affdesk_describe($response)
                . affdesk_drop_hint($response['status'])
                . ' - body was ' . json_encode($item['body'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
        }
        return [$outcome, $response];
    }

    /**
     * Makes a call now, or queues it: queued when affdesk is not configured yet, when earlier
     * calls still wait (so a refund never overtakes its signup), or when the call fails in a way
     * a resend can fix.
     */
    function affdesk_submit(array $item): void
    {
        $config = affdesk_config();
        if (!affdesk_configured($config)) {
            affdesk_queue_or_log($item, $config, 'url or token is not set in affdesk_config.php');
            return;
        }
        try {
            $waiting = affdesk_queue_count($config);
        } catch (Throwable $e) {
            affdesk_log('the queue cannot be read (' . $e->getMessage() . '); sending directly');
            $waiting = 0;
        }
        if ($waiting > 0) {
            affdesk_queue_or_log($item, $config, "$waiting earlier call(s) still wait in the queue");
            return;
        }
        [$outcome, $response] = affdesk_deliver($item, $config);
        if ($outcome === 'retry') {
            $item['attempts'] = 1;
            $item['last_error'] = affdesk_describe($response);
            affdesk_queue_or_log($item, $config, $item['last_error']);
        }
    }

    /** Queues a call and says so; when even that fails, logs the body so nothing is lost silently. */
    function affdesk_queue_or_log(array $item, array $config, string $why): void
    {
        try {
            affdesk_queue_push($config, $item);
            affdesk_log("{$item['label']} queued ($why); the WHMCS cron resends it");
        } catch (Throwable $e) {
            affdesk_log("{$item['label']} NOT SENT and could not be queued ({$e->getMessage()}); "
                . "send it by hand: POST {$item['path']} "
                . json_encode($item['body'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
        }
    }

    // ------------------------------------------------------------------------------------------
    // The queue: one JSON object per line in <queue_dir>/queue.php, changed under flock.
    // Its first line is a PHP guard that returns at once (see affdesk_queue_guard_line), and
    // JSON_HEX_TAG keeps "<" out of the JSON lines, so the file shows nothing if a web server
    // runs it and does nothing if PHP includes it (the default queue_dir is inside includes/hooks).
    // ------------------------------------------------------------------------------------------

    function affdesk_queue_guard_line(): string
    {
        return '<' . "?php return; ?" . ">\n";
    }

    function affdesk_queue_file(array $config): string
    {
        return $config['queue_dir'] . DIRECTORY_SEPARATOR . 'queue.php';
    }

    function affdesk_queue_prepare_dir(array $config): void
    {
        $dir = $config['queue_dir'];
        if (!is_dir($dir) && !@mkdir($dir, 0770, true) && !is_dir($dir)) {
            throw new RuntimeException("cannot create the queue directory $dir");
        }
        $htaccess = $dir . DIRECTORY_SEPARATOR . '.htaccess';
        if (!is_file($htaccess)) {
            @file_put_contents($htaccess, "Require all denied\nDeny from all\n");
        }
    }

    /** Runs $work(queue file path) holding the queue lock ($mode: LOCK_SH or LOCK_EX). */
    function affdesk_queue_locked(array $config, int $mode, callable $work)
    {
        affdesk_queue_prepare_dir($config);
        $lockPath = $config['queue_dir'] . DIRECTORY_SEPARATOR . 'queue.lock';
        $lock = @fopen($lockPath, 'c');
        if ($lock === false) {
            throw new RuntimeException("cannot open the queue lock $lockPath");
        }
        try {
            if (!flock($lock, $mode)) {
                throw new RuntimeException("cannot lock $lockPath");
            }
            return $work(affdesk_queue_file($config));
        } finally {
            flock($lock, LOCK_UN);
            fclose($lock);
        }
    }

    /** The queued calls, oldest first; unreadable lines are logged and skipped. */
    function affdesk_queue_load(string $file): array
    {
        if (!is_file($file)) {
            return [];
        }
        $lines = file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
        if ($lines === false) {
            throw new RuntimeException("cannot read $file");
        }
        $items = [];
        foreach ($lines as $number => $line) {
            if (strpos($line, '<?php') === 0) {
                continue;
            }
            $item = json_decode($line, true);
            if (is_array($item) && isset($item['id'], $item['path'], $item['body'])) {
                $items[] = $item;
            } else {
                affdesk_log("queue line " . ($number + 1) . " of $file is not a call and was skipped: " . affdesk_text($line, 300));
            }
        }
        return $items;
    }

    function affdesk_queue_line(array $item): string
    {
        $flags = JSON_UNESCAPED_SLASHES | JSON_HEX_TAG | JSON_HEX_AMP | JSON_PARTIAL_OUTPUT_ON_ERROR;
        return json_encode($item, $flags) . "\n";
    }

    /** Writes the whole queue through a temporary file and a rename, so a crash leaves either. */
    function affdesk_queue_save(string $file, array $items): void
    {
        $text = affdesk_queue_guard_line();
        foreach ($items as $item) {
            $text .= affdesk_queue_line($item);
        }
        $temporary = $file . '.tmp';
        if (@file_put_contents($temporary, $text) === false || !@rename($temporary, $file)) {
            throw new RuntimeException("cannot write $file");
        }
        @chmod($file, 0660);
    }

    function affdesk_queue_push(array $config, array $item): void
    {
        affdesk_queue_locked($config, LOCK_EX, static function (string $file) use ($item): void {
            $text = (is_file($file) ? '' : affdesk_queue_guard_line()) . affdesk_queue_line($item);
            if (@file_put_contents($file, $text, FILE_APPEND) === false) {
                throw new RuntimeException("cannot write $file");
            }
            @chmod($file, 0660);
        });
    }

    function affdesk_queue_count(array $config): int
    {
        return (int) affdesk_queue_locked($config, LOCK_SH, static function (string $file): int {
            return count(affdesk_queue_load($file));
        });
    }

    /**
     * Resends the queue oldest first. Delivered and refused calls leave the queue. A failure of
     * affdesk as a whole (no answer, 401, 429, ...) ends the run; a 5xx for one call holds back
     * only the later calls for the same order. The network calls run without the lock, so
     * checkouts can queue meanwhile; a second cron run at once is skipped.
     */
    function affdesk_flush_queue(array $config, int $maxCalls = 500): void
    {
        $runLock = @fopen($config['queue_dir'] . DIRECTORY_SEPARATOR . 'flush.lock', 'c');
        if ($runLock === false || !flock($runLock, LOCK_EX | LOCK_NB)) {
            return;
        }
        try {
            $items = affdesk_queue_locked($config, LOCK_SH, 'affdesk_queue_load');
            $finished = [];
            $failed = [];
            $heldOrders = [];
            foreach (array_slice($items, 0, $maxCalls) as $item) {
                if (isset($heldOrders[$item['order'] ?? ''])) {
                    continue;
                }
                [$outcome, $response] = affdesk_deliver($item, $config);
                if ($outcome !== 'retry') {
                    $finished[$item['id']] = true;
                    continue;
                }
                $failed[$item['id']] = affdesk_describe($response);
                $heldOrders[$item['order'] ?? ''] = true;
                if (affdesk_failure_is_global($response['status'])) {
                    affdesk_log("{$item['label']} still not accepted: {$failed[$item['id']]}; "
                        . count($items) . ' call(s) wait in the queue for the next cron run');
                    break;
                }
                affdesk_log("{$item['label']} still not accepted: {$failed[$item['id']]}; it waits for the next cron run");
            }
            if ($finished !== [] || $failed !== []) {
                affdesk_queue_locked($config, LOCK_EX, static function (string $file) use ($finished, $failed): void {
                    affdesk_queue_save($file, affdesk_queue_settle(affdesk_queue_load($file), $finished, $failed));
                });
            }
        } finally {
            flock($runLock, LOCK_UN);
            fclose($runLock);
        }
    }

    /** The queue as re-read under the lock, without the finished calls and with failures counted. */
    function affdesk_queue_settle(array $items, array $finished, array $failed): array
    {
        $kept = [];
        foreach ($items as $item) {
            if (isset($finished[$item['id']])) {
                continue;
            }
            if (isset($failed[$item['id']])) {
                $item['attempts'] = (int) ($item['attempts'] ?? 0) + 1;
                $item['last_error'] = $failed[$item['id']];
            }
            $kept[] = $item;
        }
        return $kept;
    }

    // ------------------------------------------------------------------------------------------
    // Hooks
    // ------------------------------------------------------------------------------------------

    /** Runs a hook handler; nothing it throws reaches WHMCS. */
    function affdesk_guard(string $hook, callable $handler, $vars): void
    {
        try {
            $handler(is_array($vars) ? $vars : []);
        } catch (Throwable $e) {
            try {
                affdesk_log("$hook failed: " . get_class($e) . ': ' . $e->getMessage()
                    . ' (' . basename($e->getFile()) . ':' . $e->getLine() . ')');
            } catch (Throwable $ignored) {
                // Nothing left to do: a hook must never break WHMCS.
            }
        }
    }

    /** InvoicePaid: the first invoice of a new order is paid: report the signup. */
    function affdesk_on_invoice_paid(array $vars): void
    {
        $invoiceId = (int) ($vars['invoiceid'] ?? 0);
        if ($invoiceId <= 0) {
            return;
        }
        $invoice = affdesk_invoice($invoiceId);
        $order = affdesk_order_of_first_invoice($invoice, $invoiceId);
        if ($order === null) {
            affdesk_debug("invoice $invoiceId is no order's first invoice (a renewal or other invoice); not reported");
            return;
        }
        affdesk_submit(affdesk_signup_item(affdesk_signup_body($order, $invoice, affdesk_config())));
    }

    /** The order if it is free (no invoice, total 0.00): these are reported as trials. */
    function affdesk_free_order(int $orderId): ?array
    {
        if ($orderId <= 0) {
            return null;
        }
        $order = affdesk_order($orderId);
        if ($order === null || (int) ($order['invoiceid'] ?? 0) !== 0 || (float) ($order['amount'] ?? 0) > 0.0) {
            return null;
        }
        return $order;
    }

    /** AcceptOrder: a free order is accepted: report the trial. Paid orders wait for InvoicePaid. */
    function affdesk_on_accept_order(array $vars): void
    {
        $orderId = (int) ($vars['orderid'] ?? 0);
        $order = affdesk_free_order($orderId);
        if ($order === null) {
            affdesk_debug("order $orderId has an invoice or a total; InvoicePaid reports it");
            return;
        }
        affdesk_submit(affdesk_signup_item(affdesk_signup_body($order, null, affdesk_config())));
    }

    /**
     * AfterShoppingCartCheckout: a free order WHMCS activated during checkout may never pass
     * through AcceptOrder, so it is reported here. Anything else waits for InvoicePaid or
     * AcceptOrder. (The same body from both places is a safe repeat for affdesk.)
     */
    function affdesk_on_checkout(array $vars): void
    {
        if ((int) ($vars['InvoiceID'] ?? 0) !== 0 || (float) ($vars['TotalDue'] ?? 0) > 0.0) {
            return;
        }
        $order = affdesk_free_order((int) ($vars['OrderID'] ?? 0));
        if ($order === null || !in_array((string) ($order['status'] ?? ''), ['Active', 'Completed'], true)) {
            return;
        }
        affdesk_submit(affdesk_signup_item(affdesk_signup_body($order, null, affdesk_config())));
    }

    /** InvoiceRefunded (status now Refunded): one reversal per refund transaction. */
    function affdesk_on_invoice_refunded(array $vars): void
    {
        $config = affdesk_config();
        $invoiceId = (int) ($vars['invoiceid'] ?? 0);
        if ($invoiceId <= 0) {
            return;
        }
        $invoice = affdesk_invoice($invoiceId);
        $order = affdesk_order_of_first_invoice($invoice, $invoiceId);
        if ($order === null) {
            affdesk_debug("invoice $invoiceId is no order's first invoice; its refund is not reported");
            return;
        }
        $orderKey = affdesk_order_key($order, $config);
        $refunds = affdesk_refund_transactions($invoice);
        if ($refunds === []) {
            $body = ['reason' => 'refund', 'reversal_id' => 'whmcs-refund-' . $invoiceId];
            affdesk_submit(affdesk_reversal_item($orderKey, $body));
            return;
        }
        foreach ($refunds as $transaction) {
            affdesk_submit(affdesk_reversal_item($orderKey, affdesk_refund_body($invoiceId, $transaction, $invoice, $config)));
        }
    }

    /**
     * AddTransaction with money out: a refund, partial ones included (a partial refund never
     * sets the invoice to Refunded, so InvoiceRefunded does not run for it). Same reversal_id as
     * InvoiceRefunded uses for the transaction, so reporting it twice is a safe repeat.
     */
    function affdesk_on_add_transaction(array $vars): void
    {
        if ((float) ($vars['amountout'] ?? 0) <= 0.0) {
            return;
        }
        $invoiceId = (int) ($vars['invoiceid'] ?? $vars['invocieid'] ?? 0);
        if ($invoiceId <= 0) {
            return;
        }
        $config = affdesk_config();
        $invoice = affdesk_invoice($invoiceId);
        $order = affdesk_order_of_first_invoice($invoice, $invoiceId);
        if ($order === null) {
            affdesk_debug("refund on invoice $invoiceId, which is no order's first invoice; not reported");
            return;
        }
        $body = affdesk_refund_body($invoiceId, $vars, $invoice, $config);
        affdesk_submit(affdesk_reversal_item(affdesk_order_key($order, $config), $body));
    }

    /**
     * CancellationRequest: a client (or an admin for them) asks to cancel a service. Chosen over
     * CancelOrder, which is for pending (mostly unpaid, so never reported) orders, and over
     * AfterModuleTerminate, which also runs when WHMCS terminates an account for non-payment
     * years later. One reversal per order ("whmcs-cancel-<order id>"): a second service of the
     * same order being cancelled gets a 409 from affdesk, logged and dropped, as the order is
     * already reversed.
     */
    function affdesk_on_cancellation_request(array $vars): void
    {
        $config = affdesk_config();
        $serviceId = (int) ($vars['relid'] ?? 0);
        if ($serviceId <= 0) {
            return;
        }
        $service = affdesk_service($serviceId, (int) ($vars['userid'] ?? 0));
        $order = $service !== null ? affdesk_order((int) ($service['orderid'] ?? 0)) : null;
        if ($order === null || !affdesk_order_was_reported($order)) {
            affdesk_debug("cancellation of service $serviceId: its order was never reported as a signup");
            return;
        }
        $body = [
            'reason' => 'cancellation',
            'reversal_id' => 'whmcs-cancel-' . (int) $order['id'],
            'time' => gmdate('Y-m-d\TH:i:s\Z'),
        ];
        affdesk_submit(affdesk_reversal_item(affdesk_order_key($order, $config), $body));
    }

    /** AfterCronJob: resend what waits in the queue. */
    function affdesk_on_cron(array $vars): void
    {
        $config = affdesk_config();
        if (!affdesk_configured($config)) {
            $waiting = affdesk_queue_count($config);
            if ($waiting > 0) {
                affdesk_log("$waiting call(s) wait in the queue: set url and token in affdesk_config.php");
            }
            return;
        }
        affdesk_flush_queue($config);
    }

    /** Registers the hooks with WHMCS. */
    function affdesk_register_hooks(): void
    {
        $hooks = [
            'InvoicePaid' => 'affdesk_on_invoice_paid',
            'AcceptOrder' => 'affdesk_on_accept_order',
            'AfterShoppingCartCheckout' => 'affdesk_on_checkout',
            'InvoiceRefunded' => 'affdesk_on_invoice_refunded',
            'AddTransaction' => 'affdesk_on_add_transaction',
            'CancellationRequest' => 'affdesk_on_cancellation_request',
            'AfterCronJob' => 'affdesk_on_cron',
        ];
        foreach ($hooks as $hook => $handler) {
            add_hook($hook, 10, static function ($vars) use ($hook, $handler): void {
                affdesk_guard($hook, $handler, $vars);
            });
        }
    }
}

if (!defined('AFFDESK_WHMCS_HOOKS_REGISTERED')) {
    define('AFFDESK_WHMCS_HOOKS_REGISTERED', true);
    affdesk_register_hooks();
}
