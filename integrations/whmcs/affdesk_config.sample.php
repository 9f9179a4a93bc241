<?php
/**
 * Settings for affdesk.php. Copy this file to includes/hooks/affdesk_config.php (beside
 * affdesk.php) and fill in url and token.
 *
 * This file only returns an array. WHMCS loads every .php file in includes/hooks/ as a hook
 * file, this one too; that does nothing. Define no functions or constants here.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

return [
    // affdesk's address, without a trailing slash, e.g. 'https://affiliates.example.com'.
    'url' => '',

    // An API token from affdesk: Settings -> API tokens (or `affdesk token create --name whmcs`).
    'token' => '',

    // WHMCS gateway module names (Setup > Payments > Payment Gateways; the file name in
    // modules/gateways/) reported to affdesk as payment_method "credit_card". affdesk counts
    // only non-moderated credit-card signups and non-moderated trials.
    'card_gateways' => [
        'stripe',
        'authorize',            // Authorize.net AIM
        'authorizenet',
        'authorizecim',         // Authorize.net CIM
        'braintree',
        'payflowpro',
        'paypalpaymentspro',
        'paypalpaymentsproref',
        'quantumgateway',
        'sagepaytokens',
        'ewaytokens',
        'usaepay',
        'bluepay',
        'offlinecc',            // Offline Credit Card
    ],

    // Gateways whose payments are reported as moderated (moderated => true): money that can
    // still bounce or that an admin confirms by hand. A paid order that still waits for an
    // admin to accept it is reported as moderated whatever its gateway.
    'moderated_gateways' => [
        'paypal',
        'paypalcheckout',
        'paypal_ppcpv',
        'banktransfer',
        'mailin',
    ],

    // Gateways reported with a payment_method of their own (checked before card_gateways).
    // Allowed values: credit_card, check, paypal, worldpay, 2checkout, gestpay, other.
    // Any gateway in neither list is reported as "other".
    'gateway_methods' => [
        'paypal' => 'paypal',
        'paypalcheckout' => 'paypal',
        'paypal_ppcpv' => 'paypal',
        'mailin' => 'check',
        'worldpay' => 'worldpay',
        'tco' => '2checkout',
    ],

    // Send the client's email address with each signup. Off by default: affdesk passes the
    // signup's values to the affiliate trackers' links.
    'send_email' => false,

    // Seconds for one call to affdesk (connecting: connect_timeout_seconds). A checkout waits
    // at most this long when affdesk is slow; the call is then queued.
    'timeout_seconds' => 5,
    'connect_timeout_seconds' => 3,

    // Where calls affdesk did not accept yet wait for the WHMCS cron. Must be writable by the
    // web server's user AND the cron's user (run the cron as the web server's user). Best
    // outside the web root, e.g. '/var/lib/whmcs/affdesk_queue'. Default: affdesk_queue/ beside
    // affdesk.php (the queue file is written so that serving it shows nothing).
    // 'queue_dir' => '/var/lib/whmcs/affdesk_queue',

    // The order_id affdesk gets: 'id' (WHMCS's order ID, as in the admin area) or 'ordernum'
    // (the random 10-digit order number the client sees). Do not change it once signups are
    // reported: refunds and cancellations are sent for the same order_id.
    'order_id_field' => 'id',

    // The time zone WHMCS's dates are in (orders, transactions), e.g. 'Europe/Berlin'.
    // Empty: PHP's default time zone, which is what WHMCS uses.
    'whmcs_timezone' => '',

    // An admin username for localAPI; WHMCS 7.2 and later need none.
    'admin_user' => '',

    // Also log what is skipped on purpose (renewal invoices and the like).
    'debug' => false,
];
