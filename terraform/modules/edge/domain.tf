# Optional custom domain (spec §2.5): a regional API Gateway domain with a TLS 1.2 policy
# and an ACM certificate validated through DNS in the parent domain's public hosted zone.

locals {
  custom_domain_labels = split(".", var.custom_domain_name)
  custom_domain_zone   = join(".", slice(local.custom_domain_labels, 1, length(local.custom_domain_labels)))
}

data "aws_route53_zone" "custom" {
  count = var.enable_custom_domain ? 1 : 0

  name         = local.custom_domain_zone
  private_zone = false
}

resource "aws_acm_certificate" "custom" {
  count = var.enable_custom_domain ? 1 : 0

  domain_name       = var.custom_domain_name
  validation_method = "DNS"

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = length(local.custom_domain_labels) >= 3
      error_message = "custom_domain_name must be a subdomain (such as auth.nexus.example.com) of a hosted zone."
    }
  }
}

resource "aws_route53_record" "custom_validation" {
  for_each = {
    for option in flatten(aws_acm_certificate.custom[*].domain_validation_options) :
    option.domain_name => option
  }

  zone_id         = data.aws_route53_zone.custom[0].zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 60
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "custom" {
  count = var.enable_custom_domain ? 1 : 0

  certificate_arn         = aws_acm_certificate.custom[0].arn
  validation_record_fqdns = [for record in aws_route53_record.custom_validation : record.fqdn]
}

resource "aws_apigatewayv2_domain_name" "custom" {
  count = var.enable_custom_domain ? 1 : 0

  domain_name = var.custom_domain_name

  domain_name_configuration {
    certificate_arn = aws_acm_certificate_validation.custom[0].certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  tags = var.tags
}

resource "aws_apigatewayv2_api_mapping" "custom" {
  count = var.enable_custom_domain ? 1 : 0

  api_id      = aws_apigatewayv2_api.ui.id
  domain_name = aws_apigatewayv2_domain_name.custom[0].id
  stage       = aws_apigatewayv2_stage.prod.id
}

resource "aws_route53_record" "custom_alias" {
  count = var.enable_custom_domain ? 1 : 0

  zone_id = data.aws_route53_zone.custom[0].zone_id
  name    = var.custom_domain_name
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.custom[0].domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.custom[0].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
