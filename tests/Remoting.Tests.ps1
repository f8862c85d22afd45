# The module's objects after a trip through PowerShell remoting (Invoke-Command, PSSessions): they come back as
# deserialized property bags (type names Deserialized.DaxFs.*). Their format views still apply, and piped on they still
# bind to the module's cmdlets by property name. The trip is made with the serializer remoting uses (PSSerializer, CLIXML).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Feature = Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs'
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
    function ConvertTo-Remote($InputObject) { [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($InputObject, 3)) }
    function Format-Both($Live, [string] $As = 'Table') {
        $remote = @($Live | ForEach-Object { ConvertTo-Remote $_ })
        $cmd = "Format-$As"
        [pscustomobject]@{ Live = ($Live | & $cmd | Out-String -Width 200); Remote = ($remote | & $cmd | Out-String -Width 200); Objects = $remote }
    }
}

Describe 'Objects that come back over remoting' {
    It 'formats a deserialized <Name> with its view, as the live object' -TestCases @(
        @{ Name = 'DaxFsImage'; Get = { Get-DaxFsImage $Basic } }
        @{ Name = 'DaxFsItem'; Get = { Get-DaxFsItem $Basic -Recurse } }
        @{ Name = 'DaxFsBranch'; Get = { Get-DaxFsBranch $Feature } }
        @{ Name = 'DaxFsBranchChange'; Get = { Compare-DaxFsBranch $Feature -Branch feature } }
        @{ Name = 'DaxFsDeltaLogEntry'; Get = { Get-DaxFsBranch $Feature -Name feature -Log } }
        @{ Name = 'DaxFsValidationFinding'; Get = { Test-DaxFsImage $Basic -Detailed } }
    ) {
        $live = @(& $Get)
        $both = Format-Both $live
        $both.Objects[0].PSTypeNames[0] | Should -Be "Deserialized.DaxFs.$Name"
        $both.Remote | Should -Be $both.Live
    }
    It 'formats a deserialized image as a list with its list view' {
        $both = Format-Both (Get-DaxFsImage $Feature) 'List'
        $both.Remote | Should -Be $both.Live
    }
    It 'binds a deserialized image to the reading cmdlets by property name' {
        $remote = ConvertTo-Remote (Get-DaxFsImage $Basic)
        ($remote | Get-DaxFsItem -Recurse).FullName | Should -Be (Get-DaxFsItem $Basic -Recurse).FullName
        ($remote | Test-DaxFsImage) | Should -Be (Test-DaxFsImage $Basic)
    }
    It 'binds a deserialized item, branch or mount to the reading cmdlets by the image it names' {
        $item = ConvertTo-Remote (Get-DaxFsItem $Feature -Path /etc/hostname)
        ($item | Get-DaxFsBranch).Name | Should -Be 'main', 'feature'
        $branch = ConvertTo-Remote (Get-DaxFsBranch $Feature -Name feature)
        ($branch | Get-DaxFsImage).Path | Should -Be (Get-DaxFsImage $Feature).Path
    }
}
