//! The WeChat server API client (login, access token, phone number). Being written.
