with

rate_codes as (

    select * from {{ ref('stg_rate_codes') }}

)

select
    rate_code_id,
    rate_code_name

from rate_codes
